"""The client's address behind a known number of reverse proxies (login throttling keys on it)."""

import ipaddress

from django.conf import settings


def client_ip_address(request) -> str | None:
    """The address the outermost trusted proxy saw, or the peer's own address when no proxy is trusted.

    Each trusted proxy appends the address it received the request from to X-Forwarded-For, so with N of them
    the Nth entry from the right is the client as our outermost proxy saw it. Anything further left was sent
    by the client and could be anything, and without trusted proxies the whole header is the client's claim.
    """
    peer = request.META.get("REMOTE_ADDR")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return peer
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < trusted:
        return peer  # did not pass through every proxy: the peer is all we know
    candidate = forwarded[-trusted].removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer
