"""The one guarded HTTP client: no internal address, no second resolution, no redirect followed, capped answers."""

import re
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from oms import http

ROOT = Path(__file__).resolve().parents[2]


class Recorder(BaseHTTPRequestHandler):
    """A local server: /redirect answers 302 to /secret, /big sends 2 MB, /slow trickles its body,
    /slow-headers trickles its header lines, anything else 200."""

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
        elif self.path == "/slow-headers":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(40):  # each line restarts a per-read timeout; only a deadline for the whole ends it
                self.wfile.write(b"X-Filler: x\r\n")
                self.wfile.flush()
                time.sleep(0.1)
            self.wfile.write(b"Content-Length: 0\r\n\r\n")
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


def test_a_redirect_is_returned_never_followed_and_the_token_never_travels(server, named, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # the public-looking first hop lives on loopback
    named({"carrier.example": ["127.0.0.1"]})
    answer = http.request(
        "GET", f"http://carrier.example:{server.server_port}/redirect", headers={"Authorization": "Bearer secret"}
    )
    assert answer.status == 302 and answer.headers["Location"].endswith("/secret")
    # /secret (loopback, which the escape hatch would even allow) was never asked for, with or without the token
    assert server.seen == [("/redirect", f"carrier.example:{server.server_port}", "Bearer secret")]


def test_a_name_public_when_saved_and_loopback_when_fetched_is_refused_before_any_connection(server, monkeypatch):
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding DNS: a different answer at each lookup
    monkeypatch.setattr(http, "resolve", lambda host, port: next(answers))
    url = f"http://rebind.example:{server.server_port}/"
    assert http.check_url(url) == url  # what an admin saved looked public then
    with pytest.raises(http.UnsafeUrl, match="internal address"):
        http.request("GET", url)
    assert server.seen == []


def test_the_whole_exchange_has_a_deadline_even_when_header_lines_trickle_in(server, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    started = time.monotonic()
    with pytest.raises(http.OutboundError, match="took longer than 1 s"):
        http.request("GET", f"http://127.0.0.1:{server.server_port}/slow-headers", timeout=1.0)
    assert time.monotonic() - started < 1.8  # the server would have taken 4 s


def test_a_header_value_with_a_line_break_is_refused_and_nothing_is_sent(server, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    with pytest.raises(http.OutboundError, match="malformed"):
        http.request("GET", f"http://127.0.0.1:{server.server_port}/", headers={"Authorization": "t\r\nX-Evil: 1"})
    assert server.seen == []


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("carrier.example", 443, "carrier.example"),
        ("carrier.example", 8443, "carrier.example:8443"),
        ("2606:4700:4700::1111", 443, "[2606:4700:4700::1111]"),
        ("2606:4700:4700::1111", 8443, "[2606:4700:4700::1111]:8443"),
    ],
)
def test_the_host_header_names_the_urls_host_and_port(host, port, expected):
    target = http.Target("https", host, port, "/", "192.0.2.1")
    assert target.host_header == expected


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
    pattern = re.compile(
        r"\burllib\.request\b|\bhttp\.client\b|\burllib3\b|\bhttpx\b|(?<![\w.])requests\."
        r"|^\s*import\s+requests\b|^\s*from\s+(urllib|http)\s+import\s+[^\n]*\b(request|client)\b",
        re.M,
    )
    offenders = [
        str(path.relative_to(ROOT))
        for app in ("oms", "inventory", "orders", "shipments", "notifications", "analytics")
        for path in (ROOT / app).rglob("*.py")
        if path.name != "http.py" or path.parent.name != "oms"
        if pattern.search(path.read_text())
    ]
    assert offenders == []


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A test certificate authority and a server certificate it signed for `carrier.test` only."""
    folder = tmp_path_factory.mktemp("tls")

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=OMS test CA"),
        *("-keyout", "ca.key", "-out", "ca.pem"),
        *("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=carrier.test", "-keyout", "leaf.key", "-out", "leaf.csr"
    )
    (folder / "leaf.ext").write_text(
        "subjectAltName=DNS:carrier.test\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    openssl(
        *("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"),
        *("-days", "2", "-extfile", "leaf.ext", "-out", "leaf.pem"),
    )
    return folder


@pytest.fixture
def tls_server(certificates):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen, httpd.server_names = [], []
    context.sni_callback = lambda sock, name, ctx: httpd.server_names.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_https_goes_to_the_vetted_address_but_checks_the_certificate_of_the_urls_name(
    tls_server, certificates, named, settings, monkeypatch
):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # both names stand in on loopback
    monkeypatch.setattr(http, "CA_BUNDLE", str(certificates / "ca.pem"))
    named({"carrier.test": ["127.0.0.1"], "impostor.test": ["127.0.0.1"]})
    port = tls_server.server_port
    answer = http.request("GET", f"https://carrier.test:{port}/ping", headers={"Authorization": "Bearer t"})
    assert answer.ok and answer.body == b'{"ok": true}'
    assert tls_server.server_names == ["carrier.test"]  # SNI: the URL's name, not the address connected to
    assert tls_server.seen == [("/ping", f"carrier.test:{port}", "Bearer t")]
    # Same address, but the certificate is not for this name: refused before a byte of the request is sent.
    with pytest.raises(http.OutboundError, match="could not be reached"):
        http.request("GET", f"https://impostor.test:{port}/ping", headers={"Authorization": "Bearer t"})
    assert len(tls_server.seen) == 1
