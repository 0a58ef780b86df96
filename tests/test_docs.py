"""The documentation site: its docstring rendering, its offline settings, and (slow) a strict build."""
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def load_extension():
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location("griffe_docstrings", ROOT / "docs" / "griffe_docstrings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_laid_out_docstring_paragraphs_stay_preformatted():
    ext = load_extension()
    text = ("Train on X and y.\n\nloss           name or Loss\nbatch_size     None: batch GD\n\n"
            "Plain prose that\nwraps over lines.\n\n    z = gamma * x_hat + beta\n")
    assert ext.plain_to_markdown(text) == (
        "Train on X and y.\n\n```text\nloss           name or Loss\nbatch_size     None: batch GD\n```\n\n"
        "Plain prose that\nwraps over lines.\n\n```text\nz = gamma * x_hat + beta\n```")


def test_site_is_configured_to_fetch_nothing():
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^\s+font: false", config, re.M)            # no Google Fonts
    assert "strict: true" in config and "extra_javascript" not in config
    for page in (ROOT / "docs").rglob("*.md"):
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", page.read_text()), page


@pytest.mark.slow
def test_strict_build_renders_the_pages(tmp_path):
    """`mkdocs build --strict` (what `make docs` runs): no warning, every page, plots inline, no
    resource from another host."""
    pytest.importorskip("mkdocs")
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mkdocs is not installed next to this Python")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    walkthrough = (site / "walkthrough" / "index.html").read_text()
    assert walkthrough.count("<svg") >= 2
    assert "N(0,1) + sigmoid: 32% of the sigmoid outputs saturated" in walkthrough
    for name in ("optimizers", "schedules", "vanishing_gradients", "batch_norm"):
        page = (site / "notebooks" / name / "index.html").read_text()
        assert "data:image/png;base64" in page, name
    api = (site / "reference" / "model" / "index.html").read_text()
    assert "Sequential" in api and "diagnostics_every" in api
    assert "deepbasics deep" in (site / "reference" / "cli" / "index.html").read_text()
    for page in site.rglob("*.html"):
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?://", page.read_text()), page
