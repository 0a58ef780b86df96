"""The playground's web server: a Starlette app served by uvicorn (the ``playground`` extra).

    GET  /               static/index.html
    GET  /static/...     the package's static files only (StaticFiles refuses paths outside it)
    GET  /api/options    presets.options(): the choices the page builds its controls from
    POST /api/upload     a CSV or Parquet file for one session (?session=ID&name=FILE, the body the file)
    WS   /ws             one training session per connection (PROTOCOL.md)

Every request passes ``access.Guard`` first: its Host, its Origin and the token (``access``). The
event loop only checks messages (``protocol.parse``) and forwards them; training runs in each
session's worker process. An uploaded file lives in the session's own temporary folder, removed
when the tab closes and when the server stops. ``serve`` binds the socket itself (so a port in use
is a one-line error), prints the URL (with its token) once it listens, and ends every worker when
it stops.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import signal
import socket
import sys
import tempfile
import threading
import uuid
import webbrowser
from importlib import resources
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import DeepBasicsError
from . import presets, protocol
from .access import Access, Guard, check_token, is_loopback, new_token
from .session import Session
from .uploads import MAX_BYTES, UploadError, Uploads, file_format, read_upload, too_large

WS_MAX_BYTES = 1 << 20       # uvicorn's frame limit; protocol.MAX_MESSAGE answers bigger ones (to 1 MiB) with an error
MAX_SESSIONS = 1024          # --max-sessions at most


def static_dir() -> Path:
    return Path(str(resources.files("deepbasics.playground").joinpath("static")))


def create_app(access: Access, max_sessions: int = protocol.LIMITS["max_sessions"]) -> Starlette:
    """The ASGI app behind ``access``; ``app.state.sessions`` holds the live sessions (stopped at
    shutdown), ``app.state.root`` the folder of their uploads (removed at shutdown)."""
    options = presets.options()
    options["limits"]["max_sessions"] = max_sessions

    async def index(request):
        page = static_dir() / "index.html"
        if not page.is_file():
            return PlainTextResponse("the playground's page is missing from this installation", status_code=500)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    async def api_options(request):
        return JSONResponse(options)

    async def ws_endpoint(websocket: WebSocket):
        await websocket.accept()
        sessions = websocket.app.state.sessions
        if len(sessions) >= max_sessions:
            await websocket.send_text(protocol.encode({
                "type": "busy", "message": f"the playground is busy: {max_sessions} sessions are training; "
                                           f"close another tab and reload this one"}))
            await websocket.close(code=1013)
            return
        loop = asyncio.get_running_loop()
        session = Session(loop)            # starting a process takes milliseconds; it then boots on its own
        session.id = uuid.uuid4().hex[:12]
        session.uploads = Uploads(_root(websocket.app) / session.id)
        sessions.add(session)
        try:
            await _converse(websocket, session, options)
        finally:
            # A thread of its own: it ends the worker even when this task is being cancelled.
            sessions.discard(session)
            closer = threading.Thread(target=_end, args=(session,), daemon=True)
            closer.start()
            websocket.app.state.closing.append(closer)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        app.state.sessions, app.state.closing, app.state.root = set(), [], None
        try:
            yield
        finally:
            for session in list(app.state.sessions):
                await asyncio.to_thread(_end, session)
            for closer in app.state.closing:
                await asyncio.to_thread(closer.join, 5.0)
            remove_root(app)

    return Starlette(routes=[Route("/", index), Route("/api/options", api_options),
                             Route("/api/upload", upload, methods=["POST"]),
                             Mount("/static", StaticFiles(directory=static_dir(), check_dir=False), name="static"),
                             WebSocketRoute("/ws", ws_endpoint)],
                     middleware=[Middleware(Guard, access=access)], lifespan=lifespan)


def _root(app) -> Path:
    """The server's folder of uploads, made at the first upload (or session)."""
    if app.state.root is None:
        app.state.root = Path(tempfile.mkdtemp(prefix="deepbasics-playground-"))
    return app.state.root


def remove_root(app) -> None:
    root = getattr(app.state, "root", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


def _end(session: Session) -> None:
    """End a session's worker, then remove its uploads (the worker no longer reads them)."""
    session.close()
    session.uploads.close()


async def upload(request):
    """POST /api/upload?session=ID&name=FILE: the body is the file. Answers the file's columns
    (JSON), or {"error": one line} with 400 (unreadable), 404 (no such session), 413 (too large),
    415 (not CSV or Parquet); a refused upload keeps nothing."""
    wanted = request.query_params.get("session")
    session = next((s for s in request.app.state.sessions if s.id == wanted), None)
    if session is None:
        return JSONResponse({"error": "this session has ended; reload the page"}, status_code=404)
    name = request.query_params.get("name", "")
    try:
        file_format(name)
        data = await _body(request, name)
        entry = await asyncio.to_thread(read_upload, session.uploads.root, name, data)
    except UploadError as err:
        return JSONResponse({"error": str(err)}, status_code=err.status)
    if session not in request.app.state.sessions:          # the tab closed meanwhile
        session.uploads.close()
        return JSONResponse({"error": "this session has ended; reload the page"}, status_code=404)
    session.uploads.keep(entry)
    return JSONResponse({k: v for k, v in entry.items() if k != "path"})


async def _body(request, name: str) -> bytes:
    """The request's body, refused (413) as soon as it is longer than MAX_BYTES."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BYTES:
        raise UploadError(413, too_large(name))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BYTES:
            raise UploadError(413, too_large(name))
    return bytes(body)


async def _converse(websocket: WebSocket, session: Session, options: dict) -> None:
    """Forward checked page messages to the worker and the worker's messages to the page."""
    lock = asyncio.Lock()

    async def say(text: str) -> None:
        async with lock:
            await websocket.send_text(text)

    async def pump() -> None:
        try:
            while True:
                text = await session.receive()
                if text is None:
                    session.dead = True
                    code = await asyncio.to_thread(session.exit_code)
                    await say(protocol.encode(protocol.error(
                        f"the training process stopped unexpectedly (exit code {code}); reload the page to "
                        f"start a new session")))
                    return
                await say(text)
        except Exception:           # the page went away mid-send: the receiving side ends the session
            return

    await say(protocol.encode({"type": "hello", "session": session.id, "options": options}))
    forward = asyncio.create_task(pump())
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                command = protocol.parse(message.get("text") if message.get("text") is not None
                                         else message.get("bytes"), uploads=session.uploads)
            except protocol.ProtocolError as err:
                await say(protocol.encode(protocol.error(str(err), err.key)))
                continue
            if session.dead:
                await say(protocol.encode(protocol.error("the training process has stopped; reload the page")))
                continue
            await session.send(_for_worker(command))
    except (WebSocketDisconnect, RuntimeError, OSError):      # gone without a goodbye, or mid-send
        return
    finally:
        forward.cancel()


def _for_worker(command: dict) -> dict:
    """A checked command for the worker: a configuration goes as the checked ``Config`` (the
    worker trains it as it is, without checking it again)."""
    if command["type"] == "configure":
        return {"type": "configure", "config": command["config"], "compare": command["compare"]}
    return command


# -- running it ------------------------------------------------------------------------------------
class _Stop(BaseException):
    """SIGTERM: stop like Ctrl-C, but exit 0."""


class _Server(uvicorn.Server):
    """uvicorn's server, announcing the URL once it listens."""

    def __init__(self, config, announce):
        super().__init__(config)
        self.announce = announce

    async def startup(self, sockets=None):
        await super().startup(sockets=sockets)
        if self.started:
            self.announce()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one); a port in use is a DeepBasicsError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DeepBasicsError(f"cannot listen on host {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DeepBasicsError(f"port {port} on {host} is already in use; choose another with --port N "
                                  f"(--port 0 picks a free one)") from None
        raise DeepBasicsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def access_token(host: str, token: str | None, no_token: bool) -> str | None:
    """The server's token: ``token`` (checked), a new random one, or None with --no-token, which
    only a loopback host may have."""
    if no_token and token:
        raise DeepBasicsError("--token and --no-token contradict each other; give one of them")
    if no_token:
        if not is_loopback(host):
            raise DeepBasicsError(f"--no-token is allowed only on a loopback host (127.0.0.1, localhost, ::1), "
                                  f"not {host}: share the printed URL, which carries the token")
        return None
    return check_token(token) if token is not None else new_token()


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True, emit=print, *,
          token: str | None = None, no_token: bool = False, max_sessions: int = protocol.LIMITS["max_sessions"],
          allow_hosts=()) -> int:
    """Run the playground until Ctrl-C (exit code 130) or SIGTERM (0); every worker is ended and
    every uploaded file removed."""
    token = access_token(host, token, no_token)
    if not 1 <= max_sessions <= MAX_SESSIONS:
        raise DeepBasicsError(f"--max-sessions must be 1 to {MAX_SESSIONS}, got {max_sessions}")
    if not is_loopback(host):
        print(f"deepbasics playground: warning: listening on {host}: anyone who can reach this address and has "
              f"the token can train networks on this machine's CPU (up to {max_sessions} sessions at once)",
              file=sys.stderr, flush=True)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    url = url_of(host, bound) + (f"?token={token}" if token else "")
    app = create_app(Access.for_server(host, bound, token, allow_hosts), max_sessions)

    def announce():
        emit(f"deepbasics playground: {url}")
        sys.stdout.flush()
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()

    config = uvicorn.Config(app, log_level="warning", access_log=False, ws_max_size=WS_MAX_BYTES,
                            timeout_graceful_shutdown=2, lifespan="on")
    server = _Server(config, announce)

    def on_term(signum, frame):
        raise _Stop()
    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        server.run(sockets=[sock])
    except _Stop:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        remove_root(app)                   # the uploads, also when the shutdown was cut short
    return 0
