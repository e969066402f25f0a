"""The one HTTP client for everything the server fetches (carriers, tracking polls, webhooks, SMS gateways).

A shop's admin types the URLs it calls, so every call is vetted as if it were hostile (server-side request forgery):
- the host is resolved once, and refused if ANY of its addresses is not a public unicast one (loopback, private,
  link-local, shared, reserved, multicast, unspecified; IPv4-mapped, 6to4 and Teredo IPv6 forms included);
- the connection goes to that vetted address — never a second resolution a rebinding DNS could answer otherwise —
  while the Host header and the TLS server name and certificate check keep the URL's own host name;
- redirects are never followed: a 3xx is returned as the answer (callers treat it as a failure), so a token or a
  body never travels to another host;
- the answer is capped in size and the whole exchange in time.

`WEBHOOKS_ALLOW_PRIVATE_URLS` (the API contract's name; off by default; development, tests and on-premise carriers)
admits private and loopback addresses for every outbound call; redirects, caps and time limits stay.
"""

import contextlib
import ipaddress
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils.translation import gettext
from urllib3.connection import HTTPConnection, HTTPSConnection

from .db import ensure_no_transaction
from .errors import DomainError

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 1_000_000
# None: the system's trusted certificate authorities. Tests point it at their own test authority.
CA_BUNDLE: str | None = None
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice, `is_global` says no too
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundError(DomainError):
    """The call was refused or failed: a bad or internal URL, no answer, too slow, too big."""

    code = "outbound_failed"


class UnsafeUrl(OutboundError):
    code = "invalid_url"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: dict

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to (tests put their own resolver here)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
    if ip in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if int(ip) >> 32 == 0:  # the deprecated IPv4-compatible form ::a.b.c.d
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in embedded if v4 is not None]


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates = [ip, *(_embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else [])]
    return all(
        candidate.is_global
        and not (
            candidate.is_private
            or candidate.is_loopback
            or candidate.is_link_local
            or candidate.is_multicast
            or candidate.is_reserved
            or candidate.is_unspecified
            or (isinstance(candidate, ipaddress.IPv4Address) and candidate in _SHARED)
        )
        for candidate in candidates
    )


def private_urls_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_URLS", False))


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal keeps its brackets
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def check_url(url: str) -> str:
    """What an admin saves (a webhook endpoint, a carrier's base URL): refused now if it could not be fetched.
    With private URLs allowed, only its form is checked (no lookup); every request vets it again anyway."""
    url = (url or "").strip()
    if private_urls_allowed():
        _parts(url)
    else:
        vet(url)
    return url


def _parts(url: str):
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(gettext("The URL is not valid."), details={"url": url}) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise UnsafeUrl(gettext("The URL must be an http:// or https:// address."), details={"url": url})
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl(gettext("The URL must not carry a user name or password."), details={"url": url})
    return parts, port


def vet(url: str) -> Target:
    """The URL's parts and the one address to connect to; UnsafeUrl for anything not to be fetched."""
    url = (url or "").strip()
    parts, port = _parts(url)
    host = parts.hostname
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnsafeUrl(
            gettext("The host '%(host)s' does not resolve.") % {"host": host}, details={"url": url}
        ) from exc
    if not addresses:
        raise UnsafeUrl(gettext("The host '%(host)s' does not resolve.") % {"host": host}, details={"url": url})
    if not private_urls_allowed() and not all(is_public_address(address) for address in addresses):
        raise UnsafeUrl(
            gettext("The host '%(host)s' points to a private, loopback or otherwise internal address.")
            % {"host": host},
            details={"url": url},
        )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


class _Deadline:
    """Cuts the connection once the whole exchange has run out of time. Per-read timeouts alone do not bound it:
    a server trickling one header line or byte at a time restarts them forever."""

    def __init__(self, seconds: float):
        self.expired = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._timer is None:
                return
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # already closed: nothing left to cut
                    # The plain socket's shutdown, under TLS too: the reading thread sees the connection end.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class _WatchedConnection:
    deadline: _Deadline

    def connect(self):
        super().connect()
        self.deadline.watch(self.sock)  # kept here: http.client drops conn.sock once an answer says "close"


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool:
    deadline: _Deadline

    def _new_conn(self):
        connection = super()._new_conn()
        connection.deadline = self.deadline
        return connection


class _WatchedHTTPPool(_WatchedPool, urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(_WatchedPool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = TOTAL_TIMEOUT,
    max_bytes: int = MAX_RESPONSE_BYTES,
) -> Response:
    """Make one vetted request. Any answer comes back (a 3xx too, never followed); OutboundError otherwise.
    `timeout` bounds the whole exchange, from connecting to the last byte."""
    ensure_no_transaction(f"HTTP {method} to {urlsplit(url).hostname or url}")
    target = vet(url)
    all_headers = {**(headers or {}), "Host": target.host_header}
    timeouts = urllib3.Timeout(connect=min(CONNECT_TIMEOUT, timeout), read=timeout)
    if target.scheme == "https":
        pool = _WatchedHTTPSPool(
            target.address,
            target.port,
            timeout=timeouts,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=CA_BUNDLE,
        )
    else:
        pool = _WatchedHTTPPool(target.address, target.port, timeout=timeouts, retries=False)
    too_slow = gettext("%(host)s took longer than %(timeout)s s to answer.") % {
        "host": target.host,
        "timeout": f"{timeout:g}",
    }
    deadline = pool.deadline = _Deadline(timeout)
    try:
        answer = pool.urlopen(
            method, target.path, body=body, headers=all_headers, redirect=False, preload_content=False, retries=False
        )
        try:
            data = bytearray()
            while chunk := answer.read1(65536):  # what has arrived, so a trickling answer meets the deadline
                data += chunk
                if len(data) > max_bytes:
                    raise OutboundError(
                        gettext("The answer of %(host)s is larger than %(max_bytes)s bytes.")
                        % {"host": target.host, "max_bytes": max_bytes}
                    )
            if deadline.expired:  # the cut connection reads as an early end: never hand that on as the answer
                raise OutboundError(too_slow)
        finally:
            answer.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        if deadline.expired:
            raise OutboundError(too_slow) from exc
        raise OutboundError(
            gettext("%(host)s could not be reached: %(error)s.") % {"host": target.host, "error": type(exc).__name__}
        ) from exc
    except ValueError as exc:  # http.client refuses a header value with a line break in it
        raise OutboundError(f"The request to {target.host} is malformed: {exc}"[:500]) from exc
    finally:
        deadline.cancel()
        pool.close()
    return Response(status=answer.status, body=bytes(data), headers=dict(answer.headers))
