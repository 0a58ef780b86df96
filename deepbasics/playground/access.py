"""Who may use the playground: its token, and the Host and Origin of every request (as Jupyter does).

    access = Access.for_server("127.0.0.1", 8000, token=new_token())   # token None: --no-token
    access.refusal(scope)          # None, or (HTTP status, one line saying why it is refused)
    app = Guard(app, access)       # an ASGI app that answers a refused request itself

Three checks, on every HTTP request and WebSocket handshake, before the app sees it:

* ``Host`` must name this server: localhost, 127.0.0.1 or ::1, and for a server bound beyond
  loopback also its bound host, the machine's names, any IP address and the names given with
  ``--allow-host``. A page of another site that gets its name resolved to this machine (DNS
  rebinding) sends its own name, and is refused.
* ``Origin``, when the browser sends one (every WebSocket handshake and cross-site request), must
  be this server's own address: another site's page cannot drive a session.
* the token (unless the server runs with ``--no-token``, allowed on loopback only): in the query
  (``?token=...``, the printed URL carries it), an ``Authorization: token ...`` header, or the
  cookie the first page answer sets (HttpOnly, SameSite=Strict, so other sites' requests never
  carry it). Tokens are compared in constant time (``hmac.compare_digest``).

A refused request gets a status and a line saying why, and changes nothing.
"""
from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ..errors import DeepBasicsError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~-]{1,256}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A fresh random token (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str:
    """A token given with --token: 1 to 256 characters that a URL carries as they are."""
    if not isinstance(token, str) or not TOKEN_CHARS.fullmatch(token):
        raise DeepBasicsError("--token takes 1 to 256 letters, digits or . _ ~ - (it goes into the URL as it is)")
    return token


def _host_name(value: str | None) -> str | None:
    """The name of a Host header ("localhost:8000" -> "localhost", "[::1]:8000" -> "::1")."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    name, _, port = value.rpartition(":")
    return name if name and port.isdigit() else value


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Access:
    """The server's token (None: none needed), the Host names it answers to, and its cookie."""
    token: str | None
    hosts: frozenset
    any_address: bool = False          # beyond loopback: a Host that is an IP address is this machine's
    cookie: str = "deepbasics-playground"

    @classmethod
    def for_server(cls, host: str, port: int, token: str | None, allow_hosts=()) -> "Access":
        names = set(LOOPBACK_NAMES) | {h.strip("[]").lower() for h in allow_hosts}
        beyond = not is_loopback(host)
        if beyond:
            if host not in ("0.0.0.0", "::", ""):
                names.add(host.strip("[]").lower())
            names |= {socket.gethostname().lower(), socket.getfqdn().lower()}
        return cls(token, frozenset(names), beyond, f"deepbasics-playground-{port}")

    def refusal(self, scope) -> tuple[int, str] | None:
        """None when the request may go on, else (status, the reason in one line)."""
        headers = _headers(scope)
        host = headers.get("host")
        name = _host_name(host)
        if name is None or not (name in self.hosts or (self.any_address and _is_address(name))):
            return 403, (f"refused: this playground does not answer to the host name {name!r} (it answers to "
                         f"{', '.join(sorted(self.hosts))}); a page reaching it under another name is refused")
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            return 403, (f"refused: a page of {origin} may not use this playground (only its own page, "
                         f"served from {host}, may)")
        if self.token is not None and not self.has_token(scope, headers):
            return 403, ("refused: this playground needs its token; open the address deepbasics playground "
                         "printed (it ends in ?token=...)")
        return None

    def has_token(self, scope, headers=None) -> bool:
        headers = _headers(scope) if headers is None else headers
        offered = [query_token(scope), _cookie(headers.get("cookie", ""), self.cookie)]
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() in ("token", "bearer"):
            offered.append(value.strip())
        return any(candidate and hmac.compare_digest(candidate.encode(), self.token.encode())
                   for candidate in offered)

    def set_cookie(self) -> bytes:
        """The Set-Cookie header value that keeps the token for the page's later requests."""
        return f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()


def _headers(scope) -> dict:
    out = {}
    for key, value in scope.get("headers", []):
        out.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def query_token(scope) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    return values[0] if values else None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _same_origin(origin: str, host: str | None) -> bool:
    """Whether ``origin`` ("http://localhost:8000") is the server the request was sent to."""
    parts = urlsplit(origin.strip().lower())
    return parts.scheme in ("http", "https") and host is not None and parts.netloc == host.strip().lower()


class Guard:
    """An ASGI app that refuses what ``access`` refuses (HTTP: the status and its line as text;
    WebSocket: the handshake answered with it) and passes the rest to ``app``. An HTTP answer to
    a request that carried the token in its query sets the token's cookie."""

    def __init__(self, app, access: Access):
        self.app, self.access = app, access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        refused = self.access.refusal(scope)
        if refused is not None:
            return await (_refuse_http if scope["type"] == "http" else _refuse_socket)(scope, receive, send, *refused)
        if scope["type"] == "http" and self.access.token is not None and query_token(scope):
            send = self._with_cookie(send)
        return await self.app(scope, receive, send)

    def _with_cookie(self, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", self.access.set_cookie())]}
            await send(message)
        return sending


async def _refuse_http(scope, receive, send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _refuse_socket(scope, receive, send, status: int, text: str) -> None:
    """Answer a WebSocket handshake with the refusal: an HTTP response where the server can send
    one (the ASGI "websocket.http.response" extension), else a plain close (HTTP 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        body = (text + "\n").encode()
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": text[:120]})
