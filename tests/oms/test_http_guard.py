"""The one guarded HTTP client: no internal address, no second resolution, no redirect followed, capped answers."""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from oms import http

ROOT = Path(__file__).resolve().parents[2]


class Recorder(BaseHTTPRequestHandler):
    """A local server: /redirect answers 302 to /secret, /big sends 2 MB, /slow trickles, anything else 200."""

    seen: list

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append((self.path, self.headers.get("Host"), self.headers.get("Authorization")))
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/secret")
            self.end_headers()
        elif self.path == "/big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 2_000_000)
        elif self.path == "/slow":
            self.send_response(200)
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def named(monkeypatch):
    """`named({"carrier.example": [...addresses]})`: what the resolver answers for those names."""

    def install(table):
        real = http.resolve
        monkeypatch.setattr(http, "resolve", lambda host, port: table[host] if host in table else real(host, port))

    return install


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::127.0.0.1",
        "2002:7f00:1::",
        "2002:a00:1::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        "64:ff9b::a00:1",
        "not an address",
    ],
)
def test_internal_addresses_in_every_form_are_refused(address):
    assert not http.is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert http.is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "http://user:pw@93.184.216.34/",
        "http://[::1/",
        "",
    ],
)
def test_urls_to_internal_hosts_or_of_other_schemes_are_refused(url):
    with pytest.raises(http.UnsafeUrl):
        http.vet(url)


def test_a_name_resolving_public_first_and_loopback_second_is_refused_before_any_connection(server, named):
    named({"rebind.example": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(http.UnsafeUrl, match="internal address"):
        http.request("GET", f"http://rebind.example:{server.server_port}/")
    assert server.seen == []


def test_the_vetted_address_is_the_one_connected_to_with_the_hosts_own_name(server, named, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the stand-in host lives on loopback
    calls = []
    named({"carrier.example": ["127.0.0.1"]})
    real_resolve = http.resolve

    def counting(host, port):
        calls.append(host)
        return real_resolve(host, port)

    http.resolve = counting
    try:
        answer = http.request(
            "GET", f"http://carrier.example:{server.server_port}/ping", headers={"Authorization": "t"}
        )
    finally:
        http.resolve = real_resolve
    assert answer.ok and answer.body == b'{"ok": true}'
    assert calls == ["carrier.example"]  # resolved once, never again by the connection
    assert server.seen == [("/ping", f"carrier.example:{server.server_port}", "t")]


def test_a_redirect_is_returned_never_followed_and_the_token_never_travels(server, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    answer = http.request(
        "GET", f"http://127.0.0.1:{server.server_port}/redirect", headers={"Authorization": "Bearer secret"}
    )
    assert answer.status == 302
    assert [path for path, _, _ in server.seen] == ["/redirect"]  # /secret was never asked for


def test_answers_are_capped_in_size_and_time(server, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    with pytest.raises(http.OutboundError, match="larger than"):
        http.request("GET", f"http://127.0.0.1:{server.server_port}/big")
    started = time.monotonic()
    with pytest.raises(http.OutboundError):
        http.request("GET", f"http://127.0.0.1:{server.server_port}/slow", timeout=0.5)
    assert time.monotonic() - started < 2


def test_private_addresses_stay_refused_unless_the_deployment_allows_them(server):
    with pytest.raises(http.UnsafeUrl):
        http.request("GET", f"http://127.0.0.1:{server.server_port}/")
    assert server.seen == []


def test_nothing_else_in_the_code_base_makes_its_own_http_calls():
    pattern = re.compile(r"^\s*(import|from)\s+(urllib\.request|urllib3|requests|http\.client|httpx)\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("oms", "inventory", "orders", "shipments", "notifications", "analytics")
        for path in (ROOT / app).rglob("*.py")
        if path.name != "http.py" or path.parent.name != "oms"
        if pattern.search(path.read_text())
    ]
    assert offenders == []
