from django.core.cache import cache, caches

from oms.cache import RedisCache


def test_the_cache_reuses_one_redis_client_per_pool_and_still_works():
    assert isinstance(caches["default"], RedisCache)
    backend = caches["default"]._cache
    assert backend.get_client(write=True) is backend.get_client(write=True)
    assert backend.get_client() is backend.get_client("some-key")
    cache.set("reused-client", {"answer": 42}, 30)
    assert cache.get("reused-client") == {"answer": 42}
    assert cache.add("reused-client", "other", 30) is False
    cache.delete("reused-client")
    assert cache.get("reused-client") is None
