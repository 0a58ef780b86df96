"""The playground's screenshot for the README, and the helpers the browser tests share.

    python tests/playground_screenshot.py            # writes docs/images/playground.png
    python tests/playground_screenshot.py --rates    # epochs, frames and redraws per second in the page

It starts a real ``deepbasics playground --no-browser --port 0``, opens the page in headless
Chromium (Debian's ``chromium`` package, driven by Playwright through ``executable_path``),
trains the "gradient descent vs Adam" comparison a few hundred epochs and saves the window.
``tests/test_playground_browser.py`` runs the same ``screenshot`` into a temporary folder.
"""
from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from deepbasics.fileio import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
README_IMAGE = ROOT / "docs" / "images" / "playground.png"
VIEWPORT = {"width": 1440, "height": 1000}          # the tests' window
SHOT_VIEWPORT = {"width": 1440, "height": 1180}     # the README's picture
INSTALL_HINT = ("install Chromium (Debian/Ubuntu: apt-get install -y chromium) and Playwright "
                "(pip install 'deepbasics[test]'); `make test` does both")


class Missing(RuntimeError):
    """Something the browser tests need is not installed; the message says what to install."""


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise Missing(f"the browser tests need a Chromium executable on PATH: {INSTALL_HINT}")
    return path


def missing() -> str | None:
    """What the browser tests lack, as a line saying what to install; None when nothing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"the browser tests need Playwright: {INSTALL_HINT}"
    try:
        chromium_path()
    except Missing as err:
        return str(err)
    return None


@contextmanager
def server(log_path: Path, timeout: float = 30.0):
    """A real ``deepbasics playground`` process on a free port; yields its URL. Stops it on exit
    (SIGTERM, then SIGKILL after 10 s); its output goes to ``log_path``."""
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "deepbasics", "playground", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
    try:
        url = _read_url(proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _read_url(proc: subprocess.Popen, timeout: float) -> str:
    """The URL from the server's first line: ``deepbasics playground: http://HOST:PORT/``."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if "http://" in line:
                return line[line.index("http://"):].split()[0]
        elif proc.poll() is not None:
            break
    raise RuntimeError(f"deepbasics playground printed no URL within {timeout:.0f} s (exit code "
                       f"{proc.poll()}); it printed: {seen}")


@contextmanager
def browser():
    """Playwright's headless Chromium, the system's executable."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise Missing(f"the browser tests need Playwright: {INSTALL_HINT}") from None
    executable = chromium_path()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, headless=True,
                                      args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


def wait_ready(page, timeout: float = 20_000) -> None:
    """Until the page holds the server's data and at least one frame."""
    page.wait_for_function("() => window.playground && window.playground.data && window.playground.frames > 0",
                           timeout=timeout)


def choose_preset(page, preset_id: str) -> None:
    """Pick a preset and wait until the server has accepted it (a new `data` message)."""
    before = page.evaluate("() => window.playground.configured")
    page.get_by_test_id("preset").select_option(preset_id)
    page.wait_for_function("n => window.playground.configured > n", arg=before)


def screenshot(url: str, path: Path, chromium, epochs: int = 300) -> Path:
    """Train the "gradient descent vs Adam" comparison ``epochs`` epochs and save the window."""
    page = chromium.new_page(viewport=SHOT_VIEWPORT, device_scale_factor=1)
    try:
        page.goto(url)
        wait_ready(page)
        choose_preset(page, "compare-gd-adam")
        page.get_by_test_id("edit-b").click()          # the diagram follows the run being edited: Adam's
        page.get_by_test_id("play").click()
        page.wait_for_function("n => window.playground.runs[1].lastEpoch >= n", arg=epochs, timeout=60_000)
        page.get_by_test_id("pause").click()
        page.wait_for_function("() => window.playground.state === 'paused'")
        page.wait_for_timeout(300)                     # the last frame drawn
        atomic_write_bytes(path, page.screenshot(type="png"))
        return path
    finally:
        page.close()


# The two speed targets: the chapter's 2-5-2-1 network on its moons, and depth 20, width 64.
RATE_RUNS = {"2-5-2-1 (chapter-adam preset)": "",
             "depth 20, width 64": "?data.standardize=true&optimizer.lr=0.001&model.hidden=[" + ",".join(["64"] * 20) + "]"}


def page_rates(url: str, chromium, link: str, seconds: float = 6.0) -> dict:
    """Play the configuration at ``url + link`` and count, in the page, over ``seconds`` (after a
    second of warm-up): epochs trained, frames received and redraws per second, ms per redraw."""
    page = chromium.new_page(viewport=VIEWPORT)
    probe = ("() => [performance.now(), window.playground.runs[0].lastEpoch, window.playground.frames, "
             "window.playground.drawn, window.playground.drawMs]")
    try:
        page.goto(url + ("&" + link[1:] if "?" in url and link else link))      # the token, then the link
        wait_ready(page)
        page.get_by_test_id("play").click()
        page.wait_for_timeout(1000)
        t0, e0, f0, d0, ms0 = page.evaluate(probe)
        page.wait_for_timeout(seconds * 1000)
        t1, e1, f1, d1, ms1 = page.evaluate(probe)
        page.get_by_test_id("pause").click()
    finally:
        page.close()
    dt = (t1 - t0) / 1000
    return {"epochs_per_s": (e1 - e0) / dt, "frames_per_s": (f1 - f0) / dt, "redraws_per_s": (d1 - d0) / dt,
            "ms_per_redraw": (ms1 - ms0) / max(d1 - d0, 1)}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp) / "server.log") as url, browser() as chromium:
        if "--rates" in sys.argv[1:]:
            for name, link in RATE_RUNS.items():
                r = page_rates(url, chromium, link)
                print(f"{name:<30} {r['epochs_per_s']:7.0f} epochs/s  {r['frames_per_s']:5.1f} frames/s  "
                      f"{r['redraws_per_s']:5.1f} redraws/s  {r['ms_per_redraw']:.1f} ms per redraw")
            return 0
        out = screenshot(url, README_IMAGE, chromium, epochs=int(os.environ.get("EPOCHS", "600")))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
