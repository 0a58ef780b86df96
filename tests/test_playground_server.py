"""The playground's server: its HTTP routes and WebSocket sessions through Starlette's TestClient,
and the real ``deepbasics playground`` command in a subprocess (a real WebSocket, Ctrl-C, SIGTERM,
a port in use, a missing extra)."""
import copy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings

import pytest

pytest.importorskip("starlette", reason="the playground extra: pip install 'deepbasics[playground]'")
with warnings.catch_warnings():       # newer Starlette prefers httpx2 for its TestClient; httpx works everywhere
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402
    from starlette.testclient import WebSocketDenialResponse  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from deepbasics.playground import presets, server
from deepbasics.playground.access import Access

TOKEN = "t0ken-for-tests"
ACCESS = Access(TOKEN, frozenset({"testserver", "localhost", "127.0.0.1", "::1"}))
AUTH = {"Authorization": f"token {TOKEN}"}


def small() -> dict:
    raw = copy.deepcopy(presets.options()["default"]["config"])
    raw["data"]["n_samples"] = 300
    return raw


def receive(ws, kind: str, where=lambda m: True, limit: int = 2000) -> dict:
    """The next message of type ``kind`` (skipping others)."""
    for _ in range(limit):
        msg = json.loads(ws.receive_text() if hasattr(ws, "receive_text") else ws.recv(timeout=30))
        if msg["type"] == kind and where(msg):
            return msg
    raise AssertionError(f"no {kind!r} message")


@pytest.fixture
def client():
    """A TestClient of the app (Host "testserver") whose requests carry the token."""
    with TestClient(server.create_app(ACCESS, max_sessions=1), headers=AUTH) as c:
        yield c


# -- HTTP ----------------------------------------------------------------------------------------
def test_the_page_options_and_static_files_are_served(client):
    page = server.static_dir() / "index.html"
    r = client.get("/")
    assert r.status_code == 200 and r.text == page.read_text(encoding="utf-8")
    assert r.headers["content-type"].startswith("text/html")
    options = presets.options()
    options["limits"]["max_sessions"] = 1                      # the server's own limit
    assert client.get("/api/options").json() == json.loads(json.dumps(options))
    for path in sorted(p.name for p in server.static_dir().glob("*.js"))[:2]:
        assert client.get(f"/static/{path}").status_code == 200
    for outside in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/..%2fPROTOCOL.md", "/etc/passwd",
                    "/static//etc/passwd"):
        r = client.get(outside)
        assert r.status_code == 404 and "import" not in r.text, outside


# -- WebSocket sessions ------------------------------------------------------------------------------
def test_a_session_checks_every_message_and_trains(client):
    with client.websocket_connect("/ws") as ws:
        hello = receive(ws, "hello")
        assert hello["options"]["limits"]["max_points"] == 10_000 and len(hello["session"]) == 12
        ws.send_text("{nope")
        assert "not valid JSON" in receive(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "jump"}))
        assert receive(ws, "error")["key"] == "type"
        bad = small()
        bad["optimizer"]["lr"] = -1
        ws.send_text(json.dumps({"type": "configure", "config": bad}))
        err = receive(ws, "error")
        assert err["key"] == "optimizer.lr" and "learning rate" in err["message"]
        ws.send_text(json.dumps({"type": "configure", "config": small(), "compare": None}))
        assert len(receive(ws, "data")["train"]["x"]) == 210
        assert receive(ws, "frame")["epoch"] == 0
        assert receive(ws, "status")["state"] == "paused"
        ws.send_text(json.dumps({"type": "play"}))
        assert receive(ws, "status")["state"] == "running"
        first = receive(ws, "frame")
        later = receive(ws, "frame", where=lambda m: m["epoch"] > first["epoch"] + 20)
        assert later["runs"][0]["points"]["cost"][-1] > 0
        ws.send_text(json.dumps({"type": "pause"}))
        assert receive(ws, "status", where=lambda m: m["state"] == "paused")["epoch"] >= later["epoch"]
        ws.send_text("x" * (70 * 1024))
        assert "64 KiB" in receive(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "export"}))
        assert receive(ws, "export")["toml"].startswith('name = "playground"')


def test_sessions_are_bounded_and_closing_a_tab_ends_its_worker(client):
    with client.websocket_connect("/ws") as ws:
        receive(ws, "hello")
        (only,) = client.app.state.sessions
        with client.websocket_connect("/ws") as extra:
            assert "busy" in receive(extra, "busy")["message"]
        ws.send_text(json.dumps({"type": "configure", "config": small()}))
        receive(ws, "status")
    assert not client.app.state.sessions
    assert ended(only.process.pid, within=15)


def ended(pid: int, within: float) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``within`` seconds. The server reaps its
    workers itself, so the test must not join them (a second waitpid would race it)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/status") as f:
                if "zombie" in f.read().lower():
                    return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_a_worker_that_dies_is_reported_and_the_server_lives_on(client):
    with client.websocket_connect("/ws") as ws:
        receive(ws, "hello")
        ws.send_text(json.dumps({"type": "configure", "config": small()}))
        receive(ws, "status")
        (only,) = client.app.state.sessions
        only.process.kill()
        assert "stopped unexpectedly" in receive(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "play"}))
        assert "reload the page" in receive(ws, "error")["message"]
    with client.websocket_connect("/ws") as ws:               # a new tab gets a new worker
        receive(ws, "hello")
        ws.send_text(json.dumps({"type": "configure", "config": small()}))
        assert receive(ws, "status")["state"] == "paused"


# -- who may use it ------------------------------------------------------------------------------------
def test_every_request_needs_the_token_and_a_refusal_says_why():
    with TestClient(server.create_app(ACCESS)) as bare:
        for path in ("/", "/api/options", "/static/main.js", f"/?token={TOKEN}x"):
            r = bare.get(path)
            assert r.status_code == 403 and "needs its token" in r.text and r.text.count("\n") == 1, path
        assert "token" not in r.text.replace("needs its token", "").replace("?token=", "")
        for headers in ({}, {"Authorization": "token nope"}):
            with pytest.raises(WebSocketDenialResponse) as refused:
                with bare.websocket_connect("/ws", headers=headers):
                    pass
            assert refused.value.status_code == 403 and "needs its token" in refused.value.text
        assert not bare.app.state.sessions                       # a refused request changes nothing
        page = bare.get(f"/?token={TOKEN}")                      # the printed URL: the page, and a cookie
        assert page.status_code == 200 and "<!doctype html>" in page.text
        cookie = page.headers["set-cookie"]
        assert cookie.startswith(f"{ACCESS.cookie}={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert bare.get("/static/main.js").status_code == 200     # the cookie carries it from now on
        assert bare.get("/api/options", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("headers, words", [
    ({"Origin": "http://evil.example.com"}, "a page of http://evil.example.com"),
    ({"Origin": "null"}, "a page of null"),
    ({"Origin": "http://testserver.evil.example.com"}, "may not use"),
    ({"Host": "evil.example.com"}, "host name 'evil.example.com'"),
    ({"Host": "localhost.evil.example.com:8000"}, "does not answer"),
])
def test_another_sites_page_and_dns_rebinding_are_refused(client, headers, words):
    r = client.get("/api/options", headers=headers)
    assert r.status_code == 403 and words in r.text
    with pytest.raises(WebSocketDenialResponse) as refused:
        with client.websocket_connect("/ws", headers=headers):
            pass
    assert refused.value.status_code == 403 and words in refused.value.text
    assert not client.app.state.sessions
    same = client.get("/api/options", headers={"Origin": "http://testserver"})
    assert same.status_code == 200


def test_host_names_follow_the_bound_address():
    local = Access.for_server("127.0.0.1", 8000, "t")
    assert local.hosts == {"localhost", "127.0.0.1", "::1"} and not local.any_address
    scope = lambda host: {"headers": [(b"host", host.encode())], "query_string": b"token=t"}   # noqa: E731
    assert local.refusal(scope("localhost:8000")) is None and local.refusal(scope("[::1]:8000")) is None
    assert local.refusal(scope("192.168.1.5:8000"))[0] == 403
    wide = Access.for_server("0.0.0.0", 8000, "t", allow_hosts=["lab.example.org"])
    for ok in ("192.168.1.5:8000", "[fe80::1]:8000", "lab.example.org:8000", socket.gethostname() + ":8000"):
        assert wide.refusal(scope(ok)) is None, ok
    assert wide.refusal(scope("attacker.example.com:8000"))[0] == 403


def test_an_upload_is_kept_for_its_session_only_and_bounded(client, tmp_path):
    with client.websocket_connect("/ws") as ws:
        session = receive(ws, "hello")["session"]
        body = "a,b,label\n" + "".join(f"{i},{i % 5},{'xy'[i % 2]}\n" for i in range(50))
        r = client.post(f"/api/upload?session={session}&name=mine.csv", content=body.encode())
        assert r.status_code == 200, r.text
        entry = r.json()
        assert entry["rows"] == 50 and [c["kind"] for c in entry["columns"]] == ["number", "number", "text"]
        (only,) = client.app.state.sessions
        folder = only.uploads.root
        assert (folder / entry["fingerprint"] / "mine.csv").read_text() == body
        refusals = [
            (f"/api/upload?session={session}&name=../../etc/passwd.csv", b"a\n1\n", 400, "no folder"),
            (f"/api/upload?session={session}&name=notes.txt", b"a\n1\n", 415, "CSV (.csv) or Parquet"),
            (f"/api/upload?session={session}&name=big.csv", b"0" * (20 * 1024 * 1024 + 1), 413, "20 MB"),
            (f"/api/upload?session={session}&name=bad.parquet", b"not parquet", 400, "as Parquet"),
            (f"/api/upload?session={session}&name=empty.csv", b"", 400, "is empty"),
            (f"/api/upload?session=000000000000&name=x.csv", b"a\n1\n", 404, "reload the page"),
        ]
        for url, data, status, words in refusals:
            r = client.post(url, content=data)
            assert r.status_code == status and words in r.json()["error"], (url, r.text)
            assert str(folder) not in r.json()["error"]
        assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == ["mine.csv"]   # the refused kept nothing
        cfg = small()
        cfg["data"] = {"name": "csv", "path": "mine.csv", "fingerprint": entry["fingerprint"], "target": "label"}
        ws.send_text(json.dumps({"type": "configure", "config": cfg}))
        data = receive(ws, "data")
        assert data["task"] == "binary" and data["axes"] == ["a", "b"] and data["columns"] == ["a", "b"]
    assert ended(only.process.pid, within=15)
    for _ in range(100):                                       # the folder goes once the worker has ended
        if not folder.exists():
            break
        time.sleep(0.05)
    assert not folder.exists()


def test_too_many_rows_are_refused_with_the_limit():
    with TestClient(server.create_app(ACCESS), headers=AUTH) as client:
        with client.websocket_connect("/ws") as ws:
            session = receive(ws, "hello")["session"]
            body = "a,b,t\n" + "1,2,0\n" * 100_001
            r = client.post(f"/api/upload?session={session}&name=long.csv", content=body.encode())
            assert r.status_code == 413 and "100,001 rows" in r.json()["error"] and "100,000" in r.json()["error"]


# -- the command -------------------------------------------------------------------------------------
def start(*extra):
    """The command in its own process group, as a terminal runs it (Ctrl-C reaches the whole group)."""
    return subprocess.Popen([sys.executable, "-m", "deepbasics", "playground", "--no-browser", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def url_of(proc) -> str:
    """The printed URL, without its token (which ``token_of`` reads)."""
    line = proc.stdout.readline()
    match = re.fullmatch(r"deepbasics playground: (http://127\.0\.0\.1:(\d+)/)\?token=([A-Za-z0-9_-]{32})\n", line)
    assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
    proc.token = match.group(3)
    return match.group(1)


def children(pid: int) -> set:
    """Processes started by any thread of ``pid`` (workers are started from a thread)."""
    out = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out |= {int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()}
        except OSError:
            pass
    return out


@pytest.mark.parametrize("sig, codes", [(signal.SIGINT, (0, 130)), (signal.SIGTERM, (0,))])
def test_the_real_server_trains_over_a_websocket_and_stops_cleanly(sig, codes):
    proc = start("--port", "0")
    try:
        url = url_of(proc)
        with connect(url.replace("http", "ws") + f"ws?token={proc.token}", max_size=None) as ws:
            receive(ws, "hello")
            ws.send(json.dumps({"type": "configure", "config": small()}))
            receive(ws, "status")
            ws.send(json.dumps({"type": "play"}))
            frame = receive(ws, "frame", where=lambda m: m["epoch"] >= 5)
            assert frame["runs"][0]["points"]["cost"]
            with connect(url.replace("http", "ws") + f"ws?token={proc.token}") as second:   # a worker starting up
                receive(second, "hello")
                workers = children(proc.pid)
                assert len(workers) >= 2
                if sig == signal.SIGINT:
                    time.sleep(0.3)                                        # mid-import
                    os.killpg(proc.pid, sig)                               # Ctrl-C: the whole group
                else:
                    ws.socket.shutdown(socket.SHUT_RDWR)                   # a tab gone without a goodbye
                    time.sleep(0.5)
                    proc.send_signal(sig)
                _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in codes, err
    assert "Traceback" not in err and "ERROR" not in err
    assert all(ended(w, within=5) for w in workers)


def test_a_port_in_use_is_a_one_line_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = start("--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert err.count("\n") == 1 and f"port {port}" in err and "in use" in err and "--port" in err


def test_another_host_only_when_asked_and_with_a_warning():
    proc = start("--port", "0", "--host", "0.0.0.0")
    try:
        line = proc.stdout.readline()
        assert re.fullmatch(r"deepbasics playground: http://0\.0\.0\.0:\d+/\?token=\S{32}\n", line)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "warning" in err and "anyone who can reach" in err


@pytest.mark.parametrize("args, words", [
    (["--host", "0.0.0.0", "--no-token"], "--no-token is allowed only on a loopback host"),
    (["--token", "a b"], "--token takes"),
    (["--token", "abc", "--no-token"], "contradict"),
    (["--max-sessions", "0"], "1..1024"),
])
def test_unsafe_or_malformed_access_options_are_one_line_errors(args, words):
    proc = start("--port", "0", *args)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == "" and err.count("\n") == 1 and words in err, err


def test_the_token_and_the_session_limit_can_be_chosen():
    proc = start("--port", "0", "--token", "class-2024", "--max-sessions", "2")
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"deepbasics playground: (http://127\.0\.0\.1:\d+/)\?token=class-2024\n", line)
        assert match, line
        ws_url = match.group(1).replace("http", "ws") + "ws?token=class-2024"
        with connect(ws_url) as a, connect(ws_url) as b:
            assert receive(a, "hello")["options"]["limits"]["max_sessions"] == 2
            receive(b, "hello")
            with connect(ws_url) as c:
                assert "2 sessions" in receive(c, "busy")["message"]
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    free = start("--port", "0", "--no-token")
    try:
        line = free.stdout.readline()
        assert re.fullmatch(r"deepbasics playground: http://127\.0\.0\.1:\d+/\n", line), line
        with connect(line.split()[-1].replace("http", "ws") + "ws") as ws:
            receive(ws, "hello")
        free.send_signal(signal.SIGINT)
        free.communicate(timeout=20)
    finally:
        if free.poll() is None:
            free.kill()


def test_uploads_go_when_the_server_stops_and_messages_are_bounded(tmp_path):
    import urllib.request
    from websockets.exceptions import ConnectionClosed
    env = {**os.environ, "TMPDIR": str(tmp_path)}           # the server's temporary folders go here
    proc = subprocess.Popen([sys.executable, "-m", "deepbasics", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = url_of(proc)
        ws_url = url.replace("http", "ws") + f"ws?token={proc.token}"
        with connect(ws_url, max_size=None) as ws:
            session = receive(ws, "hello")["session"]
            request = urllib.request.Request(f"{url}api/upload?session={session}&name=t.csv", method="POST",
                                             data=b"a,b,c\n1,2,x\n3,4,y\n", headers={"Authorization": f"token {proc.token}"})
            with urllib.request.urlopen(request) as answer:
                assert json.loads(answer.read())["rows"] == 2
            kept = list(tmp_path.glob("deepbasics-playground-*/*/*/t.csv"))
            assert len(kept) == 1
            ws.send("x" * (2 << 20))                          # beyond any message's bound: the socket closes
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(10):
                    ws.recv(timeout=10)
            assert closed.value.rcvd.code == 1009
        for _ in range(100):                                  # that tab's file went with its session
            if not kept[0].exists():
                break
            time.sleep(0.05)
        assert not kept[0].exists()
        with connect(ws_url) as again:                        # the server goes on
            other = receive(again, "hello")["session"]
            request = urllib.request.Request(f"{url}api/upload?session={other}&name=u.csv",
                                             method="POST", data=b"a,b\n1,x\n2,y\n",
                                             headers={"Authorization": f"token {proc.token}"})
            urllib.request.urlopen(request).close()
            assert list(tmp_path.glob("deepbasics-playground-*/*/*/u.csv"))
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "Traceback" not in err
    assert not list(tmp_path.glob("deepbasics-playground-*"))        # every upload removed at exit


def test_without_the_extra_the_command_says_what_to_install():
    code = ("import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
            "from deepbasics.cli import main; sys.exit(main(['playground', '--no-browser']))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "pip install 'deepbasics[playground]'" in out.stderr


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end(tmp_path):
    out = subprocess.run([sys.executable, "-m", "deepbasics.playground.bench", "--seconds", "0.5",
                          "--json", str(tmp_path / "bench.json")], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "bench.json").read_text())
    assert set(results) == {"small", "deep"}
    assert all(r["epochs_per_second"] > 0 and r["frames_per_second"] > 0 for r in results.values())
    assert "depth 20 x width 64" in out.stdout
