"""Every example of the README and of the documentation runs as a user would run it.

The code blocks of README.md and of the pages under docs/ (and of the files they include with
``--8<--``, such as BENCHMARKS.md) are read from the Markdown and run, each in a fresh temporary
folder:

    ```python   a script in a fresh process (``python example.py``); the blocks of one
                markdown-exec session (``session="walk"``) are one script, in the page's order.
                A comment ``# prints X`` after a print (on its line or the next) states what it
                prints: X must be a line of the output, in order.
    ```sh       each line a command (its comment dropped): ``deepbasics ...`` runs as
                ``python -m deepbasics ...``, ``python ...`` with this Python; it must exit 0.
    ```console  ``$ command`` lines, each followed by what it prints: it must print exactly that
                (a path inside the example's folder shown relative to it, as a user sees it).
    ```toml     a config, saved and run as its marker says.
    ```text     output or a listing: nothing to run.

How a block is run, or why it is not, is said in an HTML comment on the line before it (the
rendered page does not show it):

    <!-- example: skip="why" -->                       not run; the reason is required
    <!-- example: slow -->                             run with the slow tests only (make test-all)
    <!-- example: slow="COMMAND" because="why" -->     that command of the block only
    <!-- example: omit="COMMAND" because="why" -->     that command of the block is not run
    <!-- example: needs="NAME[:VARIANT] ..." -->       files this test writes first (FIXTURES)
    <!-- example: file="NAME" run="COMMAND" -->        save the block as NAME, then run COMMAND
    <!-- example: instead="COMMAND" serves="PATH" because="why" -->
                                                       run COMMAND, a server ({port}: a free
                                                       port), open PATH, then stop it with Ctrl-C
"""
from __future__ import annotations

import os
import re
import shlex
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]
LANGUAGES = {"python", "sh", "console", "toml", "text"}
MARKER_KEYS = {"skip", "slow", "omit", "because", "needs", "file", "run", "instead", "serves"}
TIMEOUT_S = 900

# Files the examples presume the reader has. What each holds is said beside its example.
FIXTURES = {}


def fixture(name):
    def register(write):
        FIXTURES[name] = write
        return write
    return register


@fixture("patients.csv")
def _patients(folder: Path) -> None:
    """A small table of patients: three numeric measurements and a diagnosis in words."""
    rng = np.random.default_rng(0)
    age, bmi, pressure = rng.normal(55, 10, 240), rng.normal(26, 4, 240), rng.normal(130, 15, 240)
    risk = 0.08 * (age - 55) + 0.3 * (bmi - 26) + 0.05 * (pressure - 130) + rng.normal(0, 1, 240)
    rows = [f"{a:.0f},{b:.1f},{p:.0f},{'malignant' if r > 0 else 'benign'}"
            for a, b, p, r in zip(age, bmi, pressure, risk)]
    (folder / "patients.csv").write_text("age,bmi,pressure,diagnosis\n" + "\n".join(rows) + "\n")


@fixture("my.toml:beta1")
def _bad_beta(folder: Path) -> None:
    (folder / "my.toml").write_text("[optimizer]\nname = \"adam\"\nbeta1 = 1.5\n")


@fixture("patients.toml:city")
def _city(folder: Path) -> None:
    """A config whose table has a column of city names."""
    (folder / "patients.toml").write_text('name = "patients"\n\n[data]\nname = "csv"\npath = "patients.csv"\n'
                                          'target = "diagnosis"\n')
    (folder / "patients.csv").write_text("age,city,diagnosis\n51,Paris,benign\n63,Lyon,malignant\n"
                                         "47,Nice,benign\n58,Paris,malignant\n")


# Besides exiting 0 and printing what the text says: files the text says a command writes, and
# lines it prints (keys: a command, or text found in a script).
EXPECT_FILES = {
    "deepbasics demo": ["reports/demo/" + f for f in (
        "report.html", "summary.md", "results.json", "config.toml", "plots/cost.png", "plots/accuracy.png",
        "plots/learning_rate.png", "plots/decision_boundary.png", "checkpoints/gd.npz",
        "checkpoints/momentum.npz", "checkpoints/adam.npz")],
    "deepbasics train moons_adam": ["reports/moons-adam/report.html", "reports/moons-adam/checkpoint.npz"],
    "deepbasics reproduce --json out.json --quiet": ["out.json"],
    'search.best_estimator_[-1].save("cancer.npz")': ["cancer.npz"],
    "deepbasics compare patients.toml": ["reports/patients/report.html"],
    "deepbasics train patients.toml": ["reports/patients/report.html"],
}
EXPECT_PRINTED = {
    "deepbasics compare spirals_init --cluster local:2 --epochs 100": ["Dask: 2 worker(s)", "4 runs in"],
    "deepbasics compare spirals_init": ["4 runs in"],
    "deepbasics compare patients.toml": ["4 run(s)", "4 runs in"],
}


# -- reading the pages -----------------------------------------------------------------------------
@dataclass
class Block:
    page: str
    line: int                 # of the opening fence, from 1
    language: str
    attributes: dict
    code: str
    marker: dict = field(default_factory=dict)


def page_lines(page: str) -> list[str]:
    """The page's lines, with the files it includes (``--8<-- "FILE"``) in place."""
    out = []
    for line in (ROOT / page).read_text(encoding="utf-8").splitlines():
        included = re.fullmatch(r'--8<-- "([^"]+)"', line.strip())
        out.extend((ROOT / included.group(1)).read_text(encoding="utf-8").splitlines() if included else [line])
    return out


def parse_marker(text: str) -> dict:
    """``key="value" key`` -> {key: [values]} (a key may repeat; a flag has the value True)."""
    marker: dict = {}
    for token in shlex.split(text):
        key, eq, value = token.partition("=")
        assert key in MARKER_KEYS, f"unknown marker key {key!r} in <!-- example: {text} -->"
        marker.setdefault(key, []).append(value if eq else True)
    return marker


def blocks(page: str) -> list[Block]:
    lines, out, i = page_lines(page), [], 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        found = re.fullmatch(r"\s*<!--\s*example:(.*)-->\s*", before)
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', fence.group(2)))
        out.append(Block(page, i + 1, fence.group(1), attributes, "\n".join(lines[i + 1:end]) + "\n",
                         parse_marker(found.group(1)) if found else {}))
        i = end + 1
    return out


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]


# -- the examples ----------------------------------------------------------------------------------
@dataclass
class Example:
    kind: str                 # script | command | transcript | config | server
    where: str                # page:line
    text: str                 # the script, the command, the transcript, the config
    needs: list = field(default_factory=list)
    file: str = ""
    run: str = ""
    serves: str = ""


def commands_of(code: str) -> list[str]:
    return [c for c in (line.split(" #")[0].strip() for line in code.splitlines()) if c and not c.startswith("#")]


def examples():
    """(Example, slow) for everything the pages show that runs; a skipped block yields nothing."""
    sessions: dict = {}
    for b in ALL_BLOCKS:
        m, where, slow = b.marker, f"{b.page}:{b.line}", b.marker.get("slow") == [True]
        needs = " ".join(m.get("needs", [])).split()
        if "skip" in m:
            continue
        if "instead" in m:
            yield Example("server", f"{where} {m['instead'][0]}", m["instead"][0], serves=m["serves"][0]), slow
        elif b.language == "python" and "session" in b.attributes:
            sessions.setdefault((b.page, b.attributes["session"]), []).append(b)
        elif b.language == "python":
            yield Example("script", where, b.code, needs), slow
        elif b.language == "toml":
            yield Example("config", where, b.code, needs, m.get("file", [""])[0], m.get("run", [""])[0]), slow
        elif b.language == "console":
            for transcript in re.split(r"\n(?=\$ )", b.code.strip()):
                yield Example("transcript", f"{where} {transcript.splitlines()[0]}", transcript, needs), slow
        elif b.language == "sh":
            for command in commands_of(b.code):
                if command not in m.get("omit", []):
                    yield Example("command", f"{where} {command}", command, needs), slow or command in m.get("slow", [])
    for (page, _), group in sessions.items():
        yield Example("script", f"{page}:{group[0].line}", "\n".join(b.code for b in group)), \
            any(b.marker.get("slow") == [True] for b in group)


def _params():
    """One test per example; a command shown on two pages (README and docs/deep.md) runs once."""
    params, seen = [], set()
    for ex, slow in examples():
        if (ex.kind, ex.text, tuple(ex.needs)) not in seen:
            seen.add((ex.kind, ex.text, tuple(ex.needs)))
            params.append(pytest.param(ex, id=ex.where, marks=[pytest.mark.slow] if slow else []))
    return params


# -- running ---------------------------------------------------------------------------------------
def argv_of(command: str) -> list[str]:
    """A command as a user types it, run with this Python's deepbasics."""
    words = shlex.split(command)
    if words[0] == "deepbasics":
        return [sys.executable, "-m", "deepbasics", *words[1:]]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise AssertionError(f"no way to run {command!r}: mark it (omit=, skip=) with the reason")


def environment() -> dict:
    return {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100", "PYTHONUNBUFFERED": "1"}


def run(argv, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=folder, capture_output=True, text=True, env=environment(), timeout=TIMEOUT_S)


def stated_outputs(script: str) -> list[str]:
    """What the script's ``# prints X`` comments say it prints, in order."""
    return [m.group(1).strip() for m in re.finditer(r"#\s*prints (.+)$", script, re.M)]


def assert_printed_in_order(stdout: str, stated: list[str]) -> None:
    printed, at = [line.strip() for line in stdout.splitlines()], 0
    for line in stated:
        assert line in printed[at:], f"the text says it prints {line!r}; it printed:\n{stdout[-3000:]}"
        at = printed.index(line, at) + 1


def check_expectations(key: str, folder: Path, output: str) -> None:
    for name, files in EXPECT_FILES.items():
        if name == key:
            missing = [f for f in files if not (folder / f).is_file()]
            assert not missing, f"{key!r} did not write {missing}"
    for text in EXPECT_PRINTED.get(key, []):
        assert text in output, f"{key!r} did not print {text!r}:\n{output[-3000:]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("example", _params())
def test_the_example_runs_as_shown(example: Example, tmp_path):
    for name in example.needs:
        FIXTURES[name](tmp_path)
    RUNNERS[example.kind](example, tmp_path)


def run_script(ex: Example, folder: Path) -> None:
    (folder / "example.py").write_text(ex.text)
    done = run([sys.executable, "example.py"], folder)
    assert done.returncode == 0, f"{ex.where} failed:\n{done.stderr[-4000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
    assert_printed_in_order(done.stdout, stated_outputs(ex.text))
    check_expectations(next((k for k in EXPECT_FILES if k in ex.text), ""), folder, done.stdout)


def run_command(ex: Example, folder: Path) -> None:
    done = run(argv_of(ex.text), folder)
    assert done.returncode == 0, f"{ex.text} exited {done.returncode}:\n{done.stderr[-4000:]}"
    check_expectations(ex.text, folder, done.stdout + done.stderr)


def run_transcript(ex: Example, folder: Path) -> None:
    command, *expected = ex.text.splitlines()
    done = run(argv_of(command[2:]), folder)
    shown = (done.stdout + done.stderr).replace(f"{folder}{os.sep}", "").strip().splitlines()
    assert shown == expected, f"{command} printed:\n" + "\n".join(shown)
    failing = expected and expected[0].startswith("deepbasics: error:")
    assert done.returncode == (2 if failing else 0), done.returncode


def run_config(ex: Example, folder: Path) -> None:
    assert ex.file and ex.run, f"{ex.where}: say how the config runs (<!-- example: file=... run=... -->)"
    (folder / ex.file).write_text(ex.text)
    done = run(argv_of(ex.run), folder)
    assert done.returncode == 0, f"{ex.run} on the config of {ex.where} exited {done.returncode}:\n{done.stderr[-4000:]}"
    check_expectations(ex.run, folder, done.stdout + done.stderr)


def run_server(ex: Example, folder: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(argv_of(ex.text.format(port=port)), cwd=folder, env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        page = _fetch(_printed_url(proc, port, ex.serves), proc)
        assert "<html" in page.lower() and "deepbasics" in page.lower()
        proc.send_signal(signal.SIGINT)                       # Ctrl-C stops it
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = proc.communicate()
    assert "Traceback" not in err, err[-3000:]


def _printed_url(proc, port: int, path: str, wait_s: float = 90) -> str:
    """The page's address with the token the server printed (``?token=...``), as a user opens it."""
    ready, _, _ = select.select([proc.stdout], [], [], wait_s)
    line = proc.stdout.readline() if ready else ""
    match = re.search(r"\?token=([A-Za-z0-9_-]+)", line)
    if not match:
        proc.kill()
        raise AssertionError(f"the server printed no address with a token: {line!r} {proc.communicate()[1][-3000:]}")
    return f"http://127.0.0.1:{port}{path}?token={match.group(1)}"


def _fetch(url: str, proc, wait_s: float = 90) -> str:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode("utf-8", "replace")
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"nothing served at {url}: {proc.communicate()[1][-3000:]}") from None
            time.sleep(0.3)


RUNNERS = {"script": run_script, "command": run_command, "transcript": run_transcript, "config": run_config,
           "server": run_server}


# -- the markers themselves ------------------------------------------------------------------------
def test_every_block_says_what_it_is_and_every_opt_out_says_why():
    for b in ALL_BLOCKS:
        where = f"{b.page}:{b.line}"
        assert b.language in LANGUAGES, f"{where}: say what the block is (```{'|'.join(sorted(LANGUAGES))})"
        m = b.marker
        if "skip" in m:
            assert all(isinstance(r, str) and len(r) > 20 for r in m["skip"]), f"{where}: skip needs a reason"
        for key in ("omit", "instead"):
            if key in m:
                assert "because" in m and len(m["because"][0]) > 20, f"{where}: {key} needs because=\"...\""
        for key in ("omit", "slow"):
            for command in m.get(key, []):
                assert command is True or command in commands_of(b.code), f"{where}: {key}={command!r} is not in the block"
        if b.language == "toml" and "skip" not in m:
            assert "file" in m and "run" in m, f"{where}: a config says how it runs (file=, run=)"
        for name in " ".join(m.get("needs", [])).split():
            assert name in FIXTURES, f"{where}: no fixture {name!r}"


def test_most_examples_run_in_the_default_suite():
    """Opting out is the exception: count what runs by default, with the slow tests, and not at all."""
    found = list(examples())
    fast = sum(not slow for _, slow in found)
    skipped = sum("skip" in b.marker for b in ALL_BLOCKS)
    omitted = sum(len(b.marker.get("omit", [])) for b in ALL_BLOCKS)
    runnable = sum(b.language != "text" for b in ALL_BLOCKS)
    assert fast >= 15 and fast > 2 * (len(found) - fast), (fast, len(found))
    assert skipped + omitted < len(found) / 2 and runnable >= 20, (skipped, omitted, len(found), runnable)
