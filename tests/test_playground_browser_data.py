"""The playground with the learner's own data, its access checks and its prompt controls, end to
end: a real ``deepbasics playground`` process driven through its page in headless Chromium (as in
``test_playground_browser.py``, whose helpers and fixtures this module shares).

A CSV table of three classes and a Parquet regression table are uploaded through the page's file
input and trained; a bad file shows its reader's error while the session goes on; a link opened
without its file asks for it; the export of an uploaded-data run trains to the same cost under
``deepbasics train`` with the file beside the TOML; another site's page, a missing or wrong token
and a rebound host name are refused; pause takes effect within 0.2 s mid-epoch on a 50 x 128
network trained one example at a time on 10,000 points (the measured latencies are printed).
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import playground_screenshot as shot
from test_playground_browser import (accepted, chromium, coloured_pixels, epoch, expect, open_tab, pause,  # noqa: F401
                                     play_until, refused, set_number, shown_cost, step, url)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Two tables a learner might bring: penguins-like classes (CSV) and a smooth surface (Parquet)."""
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(7)
    n = 450
    species = np.array(["Adelie", "Chinstrap", "Gentoo"])[np.arange(n) % 3]
    centre = {"Adelie": (38.8, 18.3, 3700), "Chinstrap": (48.8, 18.4, 3730), "Gentoo": (47.5, 15.0, 5080)}
    rows = [(*(np.array(centre[s]) + rng.normal(0, [2.5, 1.0, 350])), s) for s in species]
    csv = folder / "penguins.csv"
    csv.write_text("bill_length_mm,bill_depth_mm,body_mass_g,species\n" +
                   "".join(f"{a:.1f},{b:.1f},{m:.0f},{s}\n" for a, b, m, s in rows))
    X = rng.uniform(-1, 1, size=(900, 3))
    value = np.sin(2.5 * X[:, 0]) + X[:, 1] ** 2 + 0.3 * X[:, 2]
    parquet = folder / "surface.parquet"
    pq.write_table(pa.table({"u": X[:, 0], "v": X[:, 1], "w": X[:, 2], "height": value}), parquet)
    ragged = folder / "ragged.csv"
    ragged.write_text("a,b,c,label\n1,2,3,x\n4,5,y\n6,7,8,x\n9,1,2,y\n")
    gaps = folder / "gaps.csv"
    gaps.write_text("a,b,c,label\n" + "".join(f"{i},{'' if i == 3 else i % 5},{i % 7},{'xy'[i % 2]}\n"
                                              for i in range(60)))
    return {"csv": csv, "parquet": parquet, "ragged": ragged, "gaps": gaps, "folder": folder}


REFUSED_UPLOAD = re.compile(r"Failed to load resource: the server responded with a status of 4(00|13|15) ")


@pytest.fixture
def tab(chromium, url):
    """A page of its own (its own session); no console error may appear during the test but
    Chromium's own note of an upload the server refused (which the page shows as its error)."""
    opened = open_tab(chromium, url)
    yield opened
    opened.page.context.close()
    problems = [p for p in opened.problems if not REFUSED_UPLOAD.search(p)]
    assert not problems, problems


def upload(page, path) -> None:
    """Choose ``path`` in the page's file input and wait until the server trains on it."""
    accepted(page, lambda: page.get_by_test_id("upload").set_input_files(str(path)))


def colours(page, testid: str) -> int:
    """How many distinct strong colours (hue buckets of 30 degrees) a canvas holds."""
    return page.evaluate("""id => {
        const c = document.querySelector(`[data-testid=${id}]`);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 16) {
            const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
            const hi = Math.max(r, g, b), lo = Math.min(r, g, b);
            if (hi - lo < 60) continue;
            let h = hi === r ? (g - b) / (hi - lo) : hi === g ? 2 + (b - r) / (hi - lo) : 4 + (r - g) / (hi - lo);
            seen.add(Math.floor(((h * 60) + 360) % 360 / 30));
        }
        return seen.size;
    }""", testid)


# -- the learner's own data ---------------------------------------------------------------------------
def test_a_csv_of_three_classes_uploads_trains_and_draws_a_colour_per_class(tab, tables):
    page = tab.page
    limits = page.get_by_test_id("upload-limits").text_content()
    assert "20 MB" in limits and "100,000 rows" in limits
    upload(page, tables["csv"])
    assert page.get_by_test_id("dataset").input_value() == "csv"
    assert page.get_by_test_id("target").input_value() == "species"
    assert page.get_by_test_id("plane-x").input_value() == "bill_length_mm"
    assert page.get_by_test_id("plane-y").input_value() == "bill_depth_mm"
    data = page.evaluate("() => window.playground.data")
    assert data["task"] == "multiclass" and data["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert data["held"] == 1 and len(data["train"]["x"]) == 315
    expect(page.get_by_test_id("arch")).to_have_text("3 → 5 → 2 → 3")        # softmax over three classes
    note = page.get_by_test_id("plane-note").text_content()
    assert "bill_length_mm" in note and "other 1 feature held at its training mean" in note
    assert page.get_by_test_id("legend").text_content() == "AdelieChinstrapGentoo"
    assert "penguins.csv" not in page.url.split("data.path=")[0]               # named by name and fingerprint only
    assert "data.fingerprint=" in page.url and "Adelie" not in page.url
    accepted(page, lambda: set_number(page, "lr", 0.01))
    step(page, 1)
    first = shown_cost(page)
    play_until(page, 120)
    pause(page)
    assert shown_cost(page) < 0.6 * first
    assert float(page.get_by_test_id("test-accuracy").text_content()) > 0.85
    assert colours(page, "boundary") >= 3                                       # a colour per class
    # another plane: only the view changes, the run trains on from where it is
    trained = epoch(page)
    accepted(page, lambda: page.get_by_test_id("plane-y").select_option("body_mass_g"))
    assert epoch(page) == trained and page.evaluate("() => window.playground.data.axes") == \
        ["bill_length_mm", "body_mass_g"]
    assert "body_mass_g" in page.get_by_test_id("plane-note").text_content()


def test_a_parquet_regression_file_trains_with_its_surface_and_mse(tab, tables):
    page = tab.page
    upload(page, tables["parquet"])
    assert page.get_by_test_id("target").input_value() == "height"
    assert page.evaluate("() => window.playground.data.task") == "regression"
    expect(page.get_by_test_id("test-mse")).to_be_visible()
    expect(page.get_by_test_id("test-accuracy")).to_be_hidden()
    expect(page.locator("#accuracy-card")).to_be_hidden()
    assert "mean squared error" in page.locator("#boundary-explain").text_content()
    accepted(page, lambda: set_number(page, "lr", 0.01))
    step(page, 1)
    first = float(page.get_by_test_id("test-mse").text_content())
    play_until(page, 150)
    pause(page)
    assert float(page.get_by_test_id("test-mse").text_content()) < 0.5 * first
    assert coloured_pixels(page, "boundary") > 10_000                           # the surface as a heatmap
    assert page.get_by_test_id("legend").text_content().startswith("low")


def test_a_bad_file_shows_its_error_and_the_session_goes_on(tab, tables):
    page = tab.page
    upload(page, tables["gaps"])                    # a column with a gap is offered, not ticked
    assert page.evaluate("() => window.playground.sent.config.data.features") == ["a", "c"]
    assert "missing values" in page.get_by_test_id("columns").locator("label.text").get_attribute("title")
    message = refused(page, lambda: page.get_by_test_id("columns").get_by_text("b", exact=True).click())
    assert message == "gaps.csv: column 'b' has a missing value (data row 4); fill or drop such rows first"
    play_until(page, 10)
    message = refused(page, lambda: page.get_by_test_id("upload").set_input_files(str(tables["ragged"])))
    assert message == "ragged.csv: data row 2 has 3 fields but the header has 4"
    going = epoch(page)
    page.wait_for_function("e => Number(document.querySelector('[data-testid=epoch]').textContent) > e + 10", arg=going)
    assert page.evaluate("() => window.playground.state") == "running"
    notes = tables["folder"] / "notes.txt"
    notes.write_text("not a table")
    message = refused(page, lambda: page.get_by_test_id("upload").set_input_files(str(notes)))
    assert "is not a CSV (.csv) or Parquet (.parquet) file" in message
    fake = tables["folder"] / "fake.parquet"
    fake.write_text("a,b\n1,2\n")
    assert "cannot read fake.parquet as Parquet" in refused(
        page, lambda: page.get_by_test_id("upload").set_input_files(str(fake)))
    assert page.evaluate("() => window.playground.data.features") == ["a", "c"]   # what trained goes on
    pause(page)


def test_the_tables_and_the_regression_sets_are_choices(tab):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("dataset").select_option("wine"))
    assert page.evaluate("() => window.playground.data.features.length") == 13
    assert page.get_by_test_id("plane-x").input_value() == "alcohol"
    assert "other 11 features held at their training mean" in page.get_by_test_id("plane-note").text_content()
    expect(page.locator("#network-too-big")).to_be_visible()                    # 13 inputs: not drawn
    page.get_by_test_id("columns").get_by_text("alcohol", exact=True).click()   # one feature less
    page.wait_for_function("() => window.playground.data.features.length === 12")
    expect(page.get_by_test_id("arch")).to_have_text("12 → 5 → 2 → 3")
    accepted(page, lambda: page.get_by_test_id("dataset").select_option("gaussians"))
    assert page.evaluate("() => window.playground.data.task") == "regression"
    expect(page.get_by_test_id("plane-note")).to_be_hidden()
    expect(page.get_by_test_id("test-mse")).to_be_visible()
    step(page, 2)
    assert coloured_pixels(page, "boundary") > 5_000


def test_a_link_opened_without_its_file_asks_for_it_and_then_trains(chromium, url, tables):
    first = open_tab(chromium, url)
    upload(first.page, tables["csv"])
    accepted(first.page, lambda: first.page.get_by_test_id("plane-x").select_option("body_mass_g"))
    link = first.page.url
    sent = first.page.evaluate("() => window.playground.sent")
    first.page.context.close()
    context = chromium.new_context(viewport=shot.VIEWPORT)
    page = context.new_page()
    try:
        page.goto(link)
        page.wait_for_function("() => window.playground.errors.length > 0")
        ask = page.get_by_test_id("needs-file").text_content()
        assert "penguins.csv" in ask and sent["config"]["data"]["fingerprint"] in ask
        upload(page, tables["csv"])
        assert page.evaluate("() => window.playground.sent") == sent              # the link's settings, kept
        assert page.get_by_test_id("plane-x").input_value() == "body_mass_g"
        expect(page.get_by_test_id("needs-file")).to_have_count(0)
    finally:
        context.close()


def test_the_export_of_an_uploaded_files_run_trains_beside_it_to_the_same_cost(tab, tables, tmp_path):
    page = tab.page
    upload(page, tables["csv"])
    accepted(page, lambda: set_number(page, "lr", 0.003))
    play_until(page, 40)
    pause(page)
    step(page, 1)
    shown_epoch, cost = epoch(page), page.get_by_test_id("train-cost").text_content()
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    toml = tmp_path / download.value.suggested_filename
    download.value.save_as(toml)
    text = toml.read_text()
    assert 'path = "penguins.csv"' in text and f"epochs = {shown_epoch}" in text
    assert "with penguins.csv in the same folder" in page.locator("#notice").text_content()
    shutil.copy(tables["csv"], tmp_path / "penguins.csv")
    out = subprocess.run([sys.executable, "-m", "deepbasics", "train", str(toml), "--quiet", "--no-report",
                          "--json", "-", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    costs = json.loads(out.stdout)["runs"][0]["history"]["history"]["cost"]
    assert len(costs) == shown_epoch and f"{costs[-1]:.6f}" == cost


def test_compare_run_b_takes_its_own_seeds_or_run_as(tab):
    page = tab.page
    accepted(page, lambda: page.get_by_test_id("compare").check())
    assert page.get_by_test_id("model-seed").input_value() == ""                 # run B: run A's seeds
    assert page.get_by_test_id("model-seed").get_attribute("placeholder") == "run A's"
    step(page, 1)
    a, b = page.evaluate("() => window.playground.runs.map(r => r.last('cost'))")
    assert a == b
    accepted(page, lambda: set_number(page, "model-seed", 7))
    accepted(page, lambda: set_number(page, "shuffle-seed", 8))
    step(page, 1)
    a, b = page.evaluate("() => window.playground.runs.map(r => r.last('cost'))")
    assert a != b
    assert "b.model.seed=7" in page.url and "b.train.shuffle_seed=8" in page.url


# -- who may use it -------------------------------------------------------------------------------------
def test_another_sites_page_cannot_open_a_session_even_with_the_token(chromium, url):
    """A page of http://evil.example.com (served by Playwright) that knows the token tries the
    WebSocket and the options: the server refuses both for the page's Origin."""
    token = re.search(r"token=([^&]+)", url).group(1)
    base = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
    context = chromium.new_context()
    page = context.new_page()
    page.route("http://evil.example.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>evil</title>"))
    try:
        page.goto("http://evil.example.com/")
        result = page.evaluate("""async ([base, token]) => {
            const socket = await new Promise((resolve) => {
                const ws = new WebSocket(base.replace('http', 'ws') + '/ws?token=' + token);
                ws.onopen = () => resolve('opened');
                ws.onclose = (e) => resolve('closed ' + e.code);
            });
            let fetched;
            try { fetched = (await fetch(base + '/api/options?token=' + token)).status; }
            catch (err) { fetched = 'refused'; }
            return [socket, fetched];
        }""", [base, token])
    finally:
        context.close()
    assert result == ["closed 1006", "refused"]


def test_a_missing_or_wrong_token_is_refused(chromium, url):
    bare = url.split("?")[0]
    context = chromium.new_context()
    page = context.new_page()
    try:
        for address in (bare, bare + "?token=wrong", bare + "static/main.js", bare + "api/options"):
            answer = page.goto(address)
            assert answer.status == 403, address
            assert "needs its token" in page.text_content("body")
    finally:
        context.close()


def test_a_rebound_host_name_is_refused(chromium, url):
    """DNS rebinding: a name that resolves to this machine (a second Chromium told so) reaches the
    server with the right token but under a name it does not answer to."""
    port = urlsplit(url).port
    rebinding = chromium.browser_type.launch(executable_path=shot.chromium_path(), headless=True,
                                             args=["--no-sandbox", "--disable-dev-shm-usage",
                                                   "--host-resolver-rules=MAP rebind.example.com 127.0.0.1"])
    try:
        page = rebinding.new_page()
        answer = page.goto(url.replace(f"127.0.0.1:{port}", f"rebind.example.com:{port}"))
        assert answer.status == 403 and "host name 'rebind.example.com'" in page.text_content("body")
        assert page.goto(url.replace("127.0.0.1", "localhost")).status == 200       # its own names work
    finally:
        rebinding.close()


# -- prompt controls --------------------------------------------------------------------------------------
BIG = ("data.name=moons&data.n_samples=10000&data.noise=0.2&data.seed=3&data.standardize=true"
       "&model.hidden=[" + ",".join(["128"] * 50) + "]&train.batch_size=1&train.engine=numpy"
       "&optimizer.name=adam&optimizer.lr=0.0001")


def timed(page, testid: str, until: str) -> float:
    """Seconds from a click on ``testid`` until ``until`` (a JS condition) holds, measured in the page."""
    return page.evaluate("""([id, until]) => new Promise((resolve) => {
        const done = new Function('return ' + until);
        const t0 = performance.now();
        document.querySelector(`[data-testid=${id}]`).click();
        const check = () => (done() ? resolve((performance.now() - t0) / 1000) : setTimeout(check, 1));
        check();
    })""", [testid, until])


def test_pause_and_settings_take_effect_within_a_fifth_of_a_second_mid_epoch(chromium, url):
    """The 50 x 128 network trained one example at a time on 10,000 points: an epoch is 7,000
    updates (minutes); pause answers between two updates, and the run goes on exactly."""
    context = chromium.new_context(viewport=shot.VIEWPORT)
    page = context.new_page()
    try:
        page.goto(url + "&" + BIG)
        shot.wait_ready(page, timeout=60_000)
        expect(page.get_by_test_id("arch")).to_have_text("2 → 128 ×50 → 1")
        pauses = []
        for _ in range(3):
            page.get_by_test_id("play").click()
            page.wait_for_function("() => window.playground.state === 'running'")
            page.wait_for_timeout(1200)                           # mid-epoch: an epoch takes minutes
            pauses.append(timed(page, "pause", "window.playground.state === 'paused'"))
            within = page.evaluate("() => window.playground.within")
            assert within and 0 < within["update"] < within["of"] == 7000 and epoch(page) == 0
        page.get_by_test_id("play").click()
        page.wait_for_function("() => window.playground.state === 'running'")
        page.wait_for_timeout(800)
        before = page.evaluate("() => window.playground.configured")
        box = page.get_by_test_id("lr")
        box.fill("0.0003")
        setting = page.evaluate("""n => new Promise((resolve) => {
            const t0 = performance.now();
            document.querySelector('[data-testid=lr]').dispatchEvent(new Event('change'));
            const check = () => (window.playground.configured > n ? resolve((performance.now() - t0) / 1000)
                                                                   : setTimeout(check, 1));
            check();
        })""", before)
        assert "optimizer.lr=0.0003" in page.url and page.evaluate("() => window.playground.state") == "running"
        pauses.append(timed(page, "pause", "window.playground.state === 'paused'"))
    finally:
        context.close()
    print(f"\npause latency mid-epoch, 50 x 128, batch 1, 10,000 points: "
          f"{', '.join(f'{1000 * p:.0f} ms' for p in pauses)}; a new learning rate: {1000 * setting:.0f} ms")
    assert statistics.median(pauses) < 0.2 and max(pauses) < 0.5, pauses
    assert setting < 0.5, setting


def test_a_step_answers_at_once_on_the_chapters_network(tab):
    page = tab.page
    steps = [timed(page, "step", f"Number(document.querySelector('[data-testid=epoch]').textContent) === {e}")
             for e in range(1, 6)]
    print(f"\nstep latency, chapter network: {', '.join(f'{1000 * s:.0f} ms' for s in steps)}")
    assert statistics.median(steps) < 0.2, steps
