"""The playground end to end: a real ``deepbasics playground`` process, driven through its page in
headless Chromium (Debian's ``chromium`` through Playwright's ``executable_path``).

The page is driven through its ``data-testid`` hooks and judged by what it shows (reading
``window.playground``, the page's own state, only where a number is not on screen); the numbers it
shows are checked against ``deepbasics train`` running the page's exported TOML.
Without Chromium or Playwright these tests fail with a message saying what to install.
"""
from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
from collections import namedtuple
from urllib.parse import urlsplit

import pytest

import playground_screenshot as shot

Tab = namedtuple("Tab", "page problems requests")


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    log = tmp_path_factory.mktemp("playground") / "server.log"
    with shot.server(log) as address:
        yield address
    assert "Traceback" not in log.read_text(), f"the server printed a traceback:\n{log.read_text()}"


@pytest.fixture(scope="module")
def chromium():
    problem = shot.missing()
    if problem:
        pytest.fail(problem, pytrace=False)         # never a silent skip
    with shot.browser() as b:
        yield b


def open_tab(chromium, url):
    """A new page on the playground (its own session), recording console errors and requests."""
    context = chromium.new_context(viewport=shot.VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems, requests = [], []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    shot.wait_ready(page)
    return Tab(page, problems, requests)


@pytest.fixture
def fresh(chromium, url):
    """A page just opened."""
    tab = open_tab(chromium, url)
    yield tab
    tab.page.context.close()
    assert not tab.problems, tab.problems


@pytest.fixture(scope="module")
def shared(chromium, url):
    """One page for most tests (one session: a worker per test would cost seconds each)."""
    tab = open_tab(chromium, url)
    yield tab
    tab.page.context.close()


@pytest.fixture
def tab(shared):
    """The shared page, back at the default experiment (paused, epoch 0, full speed, no compare);
    no console error may appear during the test."""
    page = shared.page
    if page.evaluate("() => window.playground.state") == "running":
        pause(page)
    set_speed(page, 10)
    page.get_by_test_id("preset").select_option("")                    # (custom): changes nothing
    accepted(page, lambda: page.get_by_test_id("preset").select_option("chapter-adam"))
    expect(page.get_by_test_id("epoch")).to_have_text("0")
    yield shared
    found = list(shared.problems)
    shared.problems.clear()
    assert not found, found


def expect(locator):
    from playwright.sync_api import expect as pw_expect
    return pw_expect(locator)


def epoch(page) -> int:
    return int(page.get_by_test_id("epoch").text_content())


def shown_cost(page) -> float:
    return float(page.get_by_test_id("train-cost").text_content())


def accepted(page, action) -> None:
    """Do ``action`` and wait until the server accepted the new configuration (a `data` message)."""
    before = page.evaluate("() => window.playground.configured")
    action()
    page.wait_for_function("n => window.playground.configured > n", arg=before)


def refused(page, action) -> str:
    """Do ``action`` and wait for the server's error; returns the text the page shows."""
    before = page.evaluate("() => window.playground.errors.length")
    action()
    page.wait_for_function("n => window.playground.errors.length > n", arg=before)
    return page.get_by_test_id("error").text_content()


def set_number(page, testid: str, value) -> None:
    box = page.get_by_test_id(testid)
    box.fill(str(value))
    box.press("Enter")


def set_speed(page, position: int) -> None:
    """The speed slider at ``position`` (0: 1 epoch a second ... 10: as fast as possible)."""
    page.evaluate("""p => { const s = document.getElementById('speed');
                            s.value = p; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }""",
                  position)


def step(page, n: int) -> None:
    for _ in range(n):
        e = epoch(page)
        page.get_by_test_id("step").click()
        page.wait_for_function("e => Number(document.querySelector('[data-testid=epoch]').textContent) > e", arg=e)


def play_until(page, epochs: int, timeout: float = 40_000) -> None:
    page.get_by_test_id("play").click()
    page.wait_for_function("n => Number(document.querySelector('[data-testid=epoch]').textContent) >= n",
                           arg=epochs, timeout=timeout)


def pause(page) -> None:
    page.get_by_test_id("pause").click()
    page.wait_for_function("() => window.playground.state === 'paused'")
    page.wait_for_timeout(150)            # the frames of the last epochs, drawn


def coloured_pixels(page, testid: str) -> int:
    """Pixels of a canvas that are neither white, grey nor transparent (the heatmap, the units)."""
    return page.evaluate("""id => {
        const c = document.querySelector(`[data-testid=${id}]`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
            const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
            if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 40) n++;
        }
        return n;
    }""", testid)


# -- the tests ------------------------------------------------------------------------------------
def test_page_loads_with_every_hook_no_console_error_and_nothing_from_elsewhere(fresh, url):
    tab = fresh
    page = tab.page
    for testid in ("play", "pause", "step", "reset", "epoch", "train-cost", "test-accuracy", "boundary",
                   "optimizer", "lr", "layers", "units", "batch-norm", "preset", "compare", "error", "export"):
        assert page.get_by_test_id(testid).count() == 1, testid
    assert page.get_by_test_id("boundary").evaluate("e => e.tagName") == "CANVAS"
    assert page.get_by_test_id("optimizer").evaluate("e => e.tagName") == "SELECT"
    assert page.get_by_test_id("preset").evaluate("e => e.tagName") == "SELECT"
    assert page.get_by_test_id("batch-norm").get_attribute("type") == "checkbox"
    # The default is the chapter's Adam run: 2-5-2-1 on 900 moons, drawn as a diagram.
    assert page.get_by_test_id("preset").input_value() == "chapter-adam"
    expect(page.get_by_test_id("arch")).to_have_text("2 → 5 → 2 → 1")
    assert page.get_by_test_id("epoch").text_content() == "0"
    page.wait_for_function("() => window.playground.networks[0] !== null")
    page.wait_for_timeout(100)
    assert coloured_pixels(page, "boundary") > 10_000          # the heatmap, not a blank canvas
    assert coloured_pixels(page, "network") > 1_000            # units and weights
    assert page.get_by_test_id("error").text_content() == ""
    origin = urlsplit(url).netloc
    foreign = [r for r in tab.requests if not r.startswith("data:") and urlsplit(r).netloc != origin]
    assert foreign == [], "the page fetched from elsewhere"


def test_the_chapters_adam_preset_trains_and_the_cost_falls(tab):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("preset").select_option("chapter-gd"))
    accepted(page, lambda: page.get_by_test_id("preset").select_option("chapter-adam"))
    assert page.get_by_test_id("optimizer").input_value() == "adam"
    assert page.get_by_test_id("lr").input_value() == "0.0001"
    step(page, 1)
    first = shown_cost(page)
    assert first == 0.711200                                  # epoch 1 of the chapter's run on this split
    play_until(page, 1500)
    early, early_epoch = shown_cost(page), epoch(page)
    page.wait_for_function("e => Number(document.querySelector('[data-testid=epoch]').textContent) > e + 200",
                           arg=early_epoch)
    pause(page)
    later = shown_cost(page)
    assert epoch(page) > early_epoch + 200
    assert later < early < first
    # The chapter's Adam (lr 1e-4) logs 0.711 at epoch 1, 0.449 at 1,000 and 0.322 at 1,500 on this
    # split (0.081 at 10,000, the chapter's neighbourhood), falling all the way.
    assert later < 0.322
    assert float(page.get_by_test_id("test-accuracy").text_content()) > 0.85
    assert page.evaluate("() => window.playground.frames") > 3


def test_reset_returns_to_the_same_start_and_speed_caps_the_rate(tab):
    page = tab.page
    step(page, 3)
    cost = shown_cost(page)
    page.get_by_test_id("reset").click()
    expect(page.get_by_test_id("epoch")).to_have_text("0")
    expect(page.get_by_test_id("train-cost")).to_have_text("–")
    step(page, 3)
    assert shown_cost(page) == cost                              # the same initial weights and shuffles

    set_speed(page, 4)
    assert page.locator("#speed-out").text_content() == "20/s"
    page.wait_for_timeout(200)
    start = epoch(page)
    page.get_by_test_id("play").click()
    page.wait_for_timeout(2000)
    pause(page)
    assert start < epoch(page) <= start + 20 * 2.5 + 5          # at most 20 epochs a second (and a chunk)


def test_switching_optimizer_depth_and_batchnorm_takes_effect(tab):
    page = tab.page
    step(page, 3)
    adam = shown_cost(page)

    accepted(page, lambda: page.get_by_test_id("optimizer").select_option("gd"))
    expect(page.get_by_test_id("epoch")).to_have_text("0")       # a new session at epoch 0
    assert page.get_by_test_id("optimizer-beta1").count() == 0   # Adam's own settings gone
    assert page.get_by_test_id("lr").input_value() == "0.0001"   # the learning rate kept
    assert "optimizer.name=gd" in page.url
    step(page, 3)
    assert shown_cost(page) != adam

    stats = page.get_by_test_id("layer-stats").locator("tr:has(td)")
    expect(stats).to_have_count(3)                               # Dense 1, 2 and the output
    accepted(page, lambda: set_number(page, "layers", 4))
    expect(page.get_by_test_id("arch")).to_have_text("2 → 5 → 2 → 2 → 2 → 1")
    expect(stats).to_have_count(5)                               # the frames carry 5 Dense layers
    accepted(page, lambda: set_number(page, "units", 3))
    expect(page.get_by_test_id("widths")).to_have_value("3, 3, 3, 3")
    expect(page.get_by_test_id("arch")).to_have_text("2 → 3 → 3 → 3 → 3 → 1")
    step(page, 1)
    plain = shown_cost(page)

    accepted(page, lambda: page.get_by_test_id("batch-norm").check())
    assert page.get_by_test_id("batch-norm-position").is_enabled()
    assert "model.batch_norm=true" in page.url
    step(page, 1)
    assert shown_cost(page) != plain                             # same weights and shuffles, BatchNorm on
    expect(stats).to_have_count(5)


def test_compare_mode_trains_two_runs_side_by_side(tab):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("preset").select_option("compare-gd-adam"))
    assert page.get_by_test_id("compare").is_checked()
    expect(page.get_by_test_id("boundary-b")).to_be_visible()
    play_until(page, 100)
    pause(page)
    runs = page.evaluate("() => window.playground.runs.map(r => [r.lastEpoch, r.last('cost')])")
    assert runs[0][0] == runs[1][0] == epoch(page)               # the runs advance in lockstep
    assert runs[0][1] > runs[1][1]                               # Adam is ahead of gradient descent
    legend = page.locator("#chart-cost .u-legend").text_content()
    assert "A train" in legend and "B train" in legend
    assert coloured_pixels(page, "boundary-b") > 10_000
    assert page.locator("#train-cost-b").text_content().startswith("B ")

    # Compare on from a single run: run B starts as a copy, edited on its own tab.
    accepted(page, lambda: page.get_by_test_id("preset").select_option("chapter-adam"))
    expect(page.get_by_test_id("boundary-b")).to_be_hidden()
    accepted(page, lambda: page.get_by_test_id("compare").check())
    assert page.get_by_test_id("edit-b").get_attribute("aria-selected") == "true"
    accepted(page, lambda: page.get_by_test_id("optimizer").select_option("rmsprop"))
    page.get_by_test_id("edit-a").click()
    assert page.get_by_test_id("optimizer").input_value() == "adam"
    assert "b.optimizer.name=rmsprop" in page.url


def test_a_bad_value_shows_an_error_and_training_goes_on(tab):
    page = tab.page
    play_until(page, 20)
    message = refused(page, lambda: set_number(page, "lr", -1))
    assert "learning rate" in message or "lr" in message
    expect(page.get_by_test_id("error")).to_be_visible()
    assert "invalid" in page.get_by_test_id("lr").get_attribute("class")
    going = epoch(page)
    page.wait_for_function("e => Number(document.querySelector('[data-testid=epoch]').textContent) > e + 20",
                           arg=going)
    assert page.evaluate("() => window.playground.state") == "running"

    # The bad value stays in its field until fixed; the fix is accepted and the message goes.
    accepted(page, lambda: set_number(page, "lr", 0.001))
    expect(page.get_by_test_id("error")).to_be_hidden()
    assert "invalid" not in (page.get_by_test_id("lr").get_attribute("class") or "")
    message = refused(page, lambda: set_number(page, "points", 20000))
    assert "10,000" in message or "10000" in message
    assert page.evaluate("() => window.playground.state") == "running"
    accepted(page, lambda: set_number(page, "points", 900))
    expect(page.get_by_test_id("error")).to_have_text("")
    pause(page)


def test_a_diverging_run_pauses_with_a_message_in_the_page(tab):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("activation").select_option("linear"))   # nothing saturates
    accepted(page, lambda: page.get_by_test_id("optimizer").select_option("gd"))
    accepted(page, lambda: set_number(page, "lr", 1000))
    page.get_by_test_id("play").click()
    page.wait_for_function("() => window.playground.state === 'diverged'")
    message = page.get_by_test_id("error").text_content()
    assert "diverged" in message and "smaller learning rate" in message
    expect(page.get_by_test_id("state")).to_have_text("diverged")
    assert page.get_by_test_id("play").is_enabled() and page.get_by_test_id("pause").is_disabled()
    accepted(page, lambda: set_number(page, "lr", 0.01))
    expect(page.get_by_test_id("error")).to_be_hidden()


def test_the_url_reopens_the_same_experiment(tab, chromium):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("dataset").select_option("circles"))
    accepted(page, lambda: set_number(page, "layers", 3))
    accepted(page, lambda: page.get_by_test_id("optimizer").select_option("rmsprop"))
    accepted(page, lambda: set_number(page, "lr", 0.003))
    accepted(page, lambda: page.get_by_test_id("batch-norm").check())
    accepted(page, lambda: page.get_by_test_id("features").get_by_text("x₁²").click())
    accepted(page, lambda: page.get_by_test_id("compare").check())
    accepted(page, lambda: page.get_by_test_id("optimizer").select_option("momentum"))
    accepted(page, lambda: page.get_by_test_id("optimizer-form").select_option("nesterov"))
    sent = page.evaluate("() => window.playground.sent")
    link = page.url

    again = chromium.new_page(viewport=shot.VIEWPORT)
    try:
        again.goto(link)
        shot.wait_ready(again)
        assert again.evaluate("() => window.playground.sent") == sent
        assert again.get_by_test_id("dataset").input_value() == "circles"
        assert again.get_by_test_id("layers").input_value() == "3"
        assert again.get_by_test_id("lr").input_value() == "0.003"
        assert again.get_by_test_id("batch-norm").is_checked()
        assert again.get_by_test_id("compare").is_checked()
        again.get_by_test_id("edit-b").click()
        assert again.get_by_test_id("optimizer").input_value() == "momentum"
        assert again.get_by_test_id("optimizer-form").input_value() == "nesterov"
    finally:
        again.close()
    assert sent["config"]["data"]["features"] == ["x1", "x2", "x1^2"]
    assert sent["compare"]["optimizer"] == {**sent["compare"]["optimizer"], "name": "momentum", "form": "nesterov"}


def test_export_runs_in_deepbasics_train_to_the_cost_the_page_shows(tab, tmp_path):
    page = tab.page
    play_until(page, 150)
    pause(page)
    step(page, 1)
    shown_epoch, cost = epoch(page), page.get_by_test_id("train-cost").text_content()
    accuracy = page.get_by_test_id("test-accuracy").text_content()
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    assert download.value.suggested_filename.endswith(".toml")
    toml = tmp_path / download.value.suggested_filename
    download.value.save_as(toml)
    assert f"epochs = {shown_epoch}" in toml.read_text()

    out = subprocess.run([sys.executable, "-m", "deepbasics", "train", str(toml), "--quiet", "--no-report",
                          "--json", "-", "--out", str(tmp_path / "run")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    run = json.loads(out.stdout)["runs"][0]
    costs = run["history"]["history"]["cost"]
    assert len(costs) == shown_epoch
    assert f"{costs[-1]:.6f}" == cost
    assert math.isclose(run["metrics"]["test"]["accuracy"], float(accuracy), abs_tol=5e-5)


def test_the_screenshot_script_writes_the_page(chromium, url, tmp_path):
    path = shot.screenshot(url, tmp_path / "playground.png", chromium, epochs=60)
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (shot.SHOT_VIEWPORT["width"], shot.SHOT_VIEWPORT["height"])


def test_the_url_codec_keeps_every_value_and_type(tab):
    """config.js in the page: a configuration through toQuery and back is itself, whatever its strings
    look like; run B keeps only its own sections and takes run A's data."""
    config = {"name": "1", "data": {"name": "moons", "features": ["x1", "x1*x2", "sin(x1)"], "noise": 0.25,
                                    "seed": 0, "standardize": False},
              "split": {"fractions": [0.7, 0.0, 0.3]},
              "model": {"hidden": [5, 2], "activation": "true", "l2": 1e-05},
              "optimizer": {"name": "momentum", "lr": 0.001, "form": "heavy_ball"},
              "schedule": {"name": "constant"}, "train": {"batch_size": "full", "engine": "null"},
              "description": "a & b = c?#"}
    compare = {**config, "optimizer": {"name": "adam", "lr": 0.0001}, "data": {"name": "xor"}}
    back = tab.page.evaluate("""async ([c, b]) => {
        const m = await import('/static/config.js');
        const q = m.toQuery(c, b);
        return [q, m.fromQuery(q), m.fromQuery('?'), m.fromQuery('?b.optimizer.name=gd')];
    }""", [config, compare])
    query, decoded, empty, only_b = back
    assert decoded["config"] == config
    own = {k: v for k, v in compare.items() if k != "description"}   # not one of run B's own sections
    assert decoded["compare"] == {**own, "data": config["data"], "split": config["split"]}
    assert "model.hidden=[5,2]" in query and "data.name=moons" in query
    assert empty is None and only_b is None                        # no configuration in the link


def test_a_long_run_keeps_its_newest_points_and_a_bounded_history(tab):
    """charts.js in the page: 100,000 epochs arriving 50 a frame stay drawable (at most 4,000
    points), the first and the newest epochs kept, every kept cost still its own epoch's."""
    kept = tab.page.evaluate("""async () => {
        const {RunHistory} = await import('/static/charts.js');
        const h = new RunHistory();
        for (let e = 1; e <= 100000; e += 50) {
            const epochs = Array.from({length: 50}, (_, i) => e + i);
            h.add({epoch: e + 49, points: {epoch: epochs, cost: epochs.map((x) => 1 / x), lr: epochs.map(() => 0.1)},
                   layers: [{name: 'Dense 1', grad_norm: 1 / e, act_std: 1, act_mean: 0, saturated: null, dead: 0.5}]});
        }
        return {epochs: h.points.epoch, costs: h.points.cost, grads: h.perLayer.epoch.length, last: h.last('cost')};
    }""")
    epochs, costs = kept["epochs"], kept["costs"]
    assert len(epochs) <= 4000 and kept["grads"] <= 4000
    assert epochs[0] == 1 and epochs[-1] == 100000
    assert epochs[-50:] == list(range(99951, 100001))               # the newest frame whole
    assert all(a < b for a, b in zip(epochs, epochs[1:]))
    assert all(c == 1 / e for e, c in zip(epochs, costs))
    assert kept["last"] == 1 / 100000
