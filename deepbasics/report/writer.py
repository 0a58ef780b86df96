"""The report of an experiment: one self-contained HTML page, a Markdown summary, the numbers.

    files = write(results, cfg, "reports/demo", wall_seconds=31.2, command="deepbasics demo")

writes, each atomically (a reader never sees half a file):

    report.html     the page: config, metrics table and every plot, images embedded as base64
                    (open it anywhere, mail it, nothing else needs to travel with it)
    summary.md      the metrics table and the plots as links, for a repository or a terminal
    results.json    every run's history, metrics and split, machine-readable (NaN as null)
    config.toml     the config as it ran, every default filled in
    plots/*.png     the figures, also as files
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path

from ..version import __version__
from . import plots
from ..runs.config import Config, to_toml
from ..fileio import atomic_write_bytes, atomic_write_text

FIGURES = (   # (file stem, title, caption)
    ("cost", "Cost", "The document's epoch cost on the training split (solid) and the mean loss on the "
                     "validation split (dashed)."),
    ("accuracy", "Validation accuracy", "Accuracy on the validation split after each validated epoch."),
    ("learning_rate", "Learning rate", "The rate used for each epoch's first update."),
    ("decision_boundary", "Decision boundaries", "The trained networks over the input plane; points are the "
                                                 "training split, coloured by their true class."),
    ("confusion", "Confusion matrices", "Rows: true class; columns: predicted class."),
    ("gradient_flow", "Gradient flow", "Gradient norm of each layer per epoch, as recorded during training."),
)


def figures(results, log_scale: bool = False) -> dict[str, bytes]:
    """{stem: PNG bytes} of every figure that applies to these results."""
    made = {"cost": plots.cost_curves(results, log_scale), "accuracy": plots.accuracy_curves(results),
            "learning_rate": plots.learning_rates(results), "decision_boundary": plots.decision_boundaries(results),
            "confusion": plots.confusion_matrices(results), "gradient_flow": plots.gradient_flow(results)}
    return {k: v for k, v in made.items() if v is not None}


def _fmt(value, kind: str = "loss") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{100 * value:.2f}%" if kind == "accuracy" else f"{value:.4f}"


def rows(results) -> list[dict]:
    """One row per run: the numbers of the metrics table."""
    out = []
    for r in results:
        cost = r.history.get("history", {}).get("cost") or [None]
        status = "stopped early" if r.status == "ok" and r.stopped else r.status
        row = {"run": r.label, "status": status, "epochs": r.epochs_done, "final cost": cost[-1],
               "seconds": round(r.seconds, 2), "engine": ", ".join(filter(None, [r.engine, r.dtype])) or "–"}
        for part in ("train", "val", "test"):
            m = r.metrics.get(part, {})
            row[f"{part} loss"] = m.get("loss")
            row[f"{part} accuracy"] = m.get("accuracy")
        out.append(row)
    return out


def _columns(results) -> list[str]:
    has = {p: any(p in r.metrics for r in results) for p in ("train", "val", "test")}
    accuracy = any(r.task != "regression" for r in results)
    cols = ["run", "status", "epochs", "final cost"]
    for part in ("train", "val", "test"):
        if has[part]:
            cols.append(f"{part} accuracy" if accuracy else f"{part} loss")
    if accuracy and (has["test"] or has["val"]):
        cols.append(("test" if has["test"] else "val") + " loss")
    return cols + ["seconds", "engine"]


def _notes(results) -> list[tuple[str, str]]:
    """(kind, line) for each run whose table row needs a reason: "stopped" (early stopping's),
    "problem" (a divergence, an interruption)."""
    return [(kind, f"{r.label}: {text}") for r in results
            for kind, text in (("stopped", r.stop_note()), ("problem", r.message)) if text]


def engine_line(results) -> str:
    """How engine "auto" chose, when it chose every run: 'Engine "auto" chose from this machine's
    measured costs: for this network JAX pays from 7,905 updates; the runs had 150,000 each.'"""
    why = [(r.history.get("params") or {}).get("engine_auto") for r in results]
    if not why or None in why:
        return ""
    if any(w.get("mapped") for w in why):
        return 'Engine "auto" kept the memory-mapped data on NumPy.'
    if all("saving_s" in w for w in why):                 # chosen for the runs together
        w, n = why[0], len(why)
        start = f"{w['start_s']:.1f} s to start it in {w['processes']} process{'es' if w['processes'] > 1 else ''}"
        if w["engine"] == "jax":
            return (f'Engine "auto" chose JAX for the {n} runs together, from this machine\'s measured costs: '
                    f"it saves them an estimated {w['saving_s']:.1f} s of training against {start}.")
        return (f'Engine "auto" kept the {n} runs on NumPy, from this machine\'s measured costs: JAX would save '
                f"them an estimated {w['saving_s']:.1f} s of training, less than {start}.")
    pays = {w.get("jax_from_updates") for w in why}
    updates = sorted({w["updates"] for w in why})
    had = f"{updates[0]:,} each" if len(updates) == 1 else f"{updates[0]:,} to {updates[-1]:,}"
    if len(pays) != 1:
        return f"Engine \"auto\" chose each run's engine from this machine's measured costs; the runs had {had} updates."
    n = pays.pop()
    where = "JAX would not pay at any length" if n is None else f"JAX pays from {n:,} updates"
    return f"Engine \"auto\" chose from this machine's measured costs: for this network {where}; the runs had {had}."


def _cell(col: str, value) -> str:
    if col in ("run", "status", "engine"):
        return str(value)
    if col == "epochs":
        return f"{value:,}"
    if col == "seconds":
        return f"{value:.1f}"
    return _fmt(value, "accuracy" if col.endswith("accuracy") else "loss")


def _best(results, table) -> int | None:
    """Index of the best finished run: highest validation (else test, else train) accuracy,
    or lowest loss for regression."""
    ok = [i for i, r in enumerate(results) if r.status == "ok"]
    if not ok:
        return None
    for key, sign in (("val accuracy", -1), ("test accuracy", -1), ("train accuracy", -1),
                      ("val loss", 1), ("test loss", 1), ("final cost", 1)):
        scored = [i for i in ok if table[i].get(key) is not None]
        if scored:
            return min(scored, key=lambda i: sign * table[i][key])
    return ok[0]


CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e7ee; --accent:#0072B2; --bg:#f6f8fb; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:linear-gradient(120deg,#0b3c5d,#0072B2); color:white; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; letter-spacing:.2px; }
header p { margin:0; opacity:.9; }
header .meta { margin-top:10px; font-size:13px; opacity:.8; }
main { max-width:1120px; margin:0 auto; padding:24px 40px 48px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:14px; margin:4px 0 22px; }
.card { background:white; border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
.card .k { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.6px; }
.card .v { font-size:22px; font-weight:650; margin-top:2px; }
.card .s { color:var(--muted); font-size:13px; }
section { background:white; border:1px solid var(--line); border-radius:10px; padding:18px 22px; margin:0 0 18px; }
section h2 { margin:0 0 10px; font-size:18px; }
section p.caption { color:var(--muted); margin:4px 0 0; font-size:13px; }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; font-variant-numeric:tabular-nums; }
th, td { padding:7px 8px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th { font-size:11.5px; text-transform:uppercase; letter-spacing:.3px; color:var(--muted); font-weight:600; }
td:first-child, th:first-child, td:nth-child(2), th:nth-child(2), td:last-child, th:last-child { text-align:left; }
tr.best td { background:#eef6fc; font-weight:600; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:8px; vertical-align:0; }
.status-ok { color:#1a7f37; } .status-diverged { color:#b42318; } .status-interrupted { color:#9a6700; }
.status-stopped-early { color:#0b5394; }
img { max-width:100%; height:auto; display:block; margin:6px auto 0; }
pre { background:#0f1724; color:#e6edf3; padding:14px 16px; border-radius:8px; overflow:auto; font-size:12.5px; }
.note { color:#b42318; font-size:13px; margin-top:8px; } .note.stopped { color:#0b5394; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:10px 0 30px; }
"""


def html_page(results, cfg: Config, images: dict[str, bytes], *, wall_seconds: float, command: str = "") -> str:
    """The self-contained report page."""
    esc = html.escape
    table = rows(results)
    cols = _columns(results)
    best = _best(results, table)
    first = results[0]
    split = first.split
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    cards = []
    if best is not None:
        b = table[best]
        key = next((k for k in ("test accuracy", "val accuracy", "train accuracy") if b.get(k) is not None), None)
        if key:
            cards.append(("best run", esc(b["run"]), f"{key} {_fmt(b[key], 'accuracy')}"))
        else:
            key = next(k for k in ("test loss", "val loss", "final cost") if b.get(k) is not None)
            cards.append(("best run", esc(b["run"]), f"{key} {_fmt(b[key])}"))
    cards.append(("runs", str(len(results)), f"{sum(r.status == 'ok' for r in results)} finished"))
    cards.append(("data", esc(first.dataset or cfg.data.name), f"{first.task}, {len(first.classes) or '–'} classes"
                  if first.task != "regression" else "regression"))
    cards.append(("split", f"{split.get('train', 0)} / {split.get('validation', 0)} / {split.get('test', 0)}",
                  "train / validation / test"))
    cards.append(("wall time", f"{wall_seconds:.1f} s", f"{sum(r.epochs_done for r in results):,} epochs in all"))
    card_html = "".join(f'<div class="card"><div class="k">{k}</div><div class="v">{v}</div>'
                        f'<div class="s">{s}</div></div>' for k, v, s in cards)
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = []
    for i, (r, row) in enumerate(zip(results, table)):
        cells = []
        for c in cols:
            text = esc(_cell(c, row[c]))
            if c == "run":
                text = f'<span class="swatch" style="background:{plots.color(i)}"></span>{text}'
            if c == "status":
                text = f'<span class="status-{esc(row[c].replace(" ", "-"))}">{text}</span>'
            cells.append(f"<td>{text}</td>")
        body.append(f'<tr{" class=best" if i == best else ""}>{"".join(cells)}</tr>')
    notes = "".join(f'<p class="note {kind}">{esc(line)}</p>' for kind, line in _notes(results))
    sections = [f'<section><h2>Results</h2><div class="scroll"><table><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table></div><p class="caption">{esc(_split_line(split))}. '
                f'Accuracy and loss on each split after the last epoch; the best run is highlighted. '
                f'{esc(engine_line(results))}</p>{notes}</section>']
    for stem, title, caption in FIGURES:
        if stem in images:
            data = base64.b64encode(images[stem]).decode("ascii")
            sections.append(f'<section><h2>{esc(title)}</h2><img alt="{esc(title)}" '
                            f'src="data:image/png;base64,{data}"><p class="caption">{esc(caption)}</p></section>')
    sections.append(f"<section><h2>Config</h2><pre>{esc(to_toml(cfg.to_dict()))}</pre>"
                    f'<p class="caption">Every setting as it ran, defaults filled in. Run it again with '
                    f"<code>deepbasics {'compare' if len(results) > 1 else 'train'} config.toml</code> "
                    f"(saved next to this page).</p></section>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(cfg.name)} · deepbasics report</title><style>{CSS}</style></head>
<body><header><h1>{esc(cfg.name)}</h1><p>{esc(cfg.description or 'A deepbasics experiment.')}</p>
<div class="meta">{esc(command) + ' · ' if command else ''}{when} · deepbasics {__version__}</div></header>
<main><div class="cards">{card_html}</div>{''.join(sections)}</main>
<footer>Generated by deepbasics {__version__}: deep feed-forward networks from scratch in NumPy.</footer>
</body></html>
"""


def _split_line(split: dict) -> str:
    pct = "/".join(f"{100 * f:g}" for f in split.get("fractions", []))
    how = ("stratified, " if split.get("stratified") else "") + f"seed {split.get('seed')}"
    return (f"Split: train {split.get('train')} / validation {split.get('validation')} / test {split.get('test')} "
            f"({pct}, {how})")


def markdown(results, cfg: Config, images: dict[str, bytes], *, wall_seconds: float, command: str = "") -> str:
    """The summary: the metrics table and links to the plots."""
    table = rows(results)
    cols = _columns(results)
    best = _best(results, table)
    lines = [f"# {cfg.name}", ""]
    if cfg.description:
        lines += [cfg.description, ""]
    lines += [f"{_split_line(results[0].split)}. Wall time {wall_seconds:.1f} s"
              + (f" (`{command}`)." if command else ".") + (f" {engine_line(results)}" if engine_line(results) else ""),
              ""]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join("---" if c in ("run", "status", "engine") else "---:" for c in cols) + "|")
    for i, row in enumerate(table):
        cells = [_cell(c, row[c]) for c in cols]
        if i == best:
            cells[0] = f"**{cells[0]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {line}" for _, line in _notes(results)]
    lines += ["", "Full report with every plot: [report.html](report.html).", ""]
    for stem, title, _ in FIGURES:
        if stem in images:
            lines += [f"## {title}", "", f"![{title}](plots/{stem}.png)", ""]
    return "\n".join(lines)


def results_json(results, cfg: Config, *, wall_seconds: float) -> dict:
    return {"name": cfg.name, "deepbasics": __version__, "wall_seconds": round(wall_seconds, 3),
            "config": cfg.to_dict(), "runs": [r.to_json() for r in results]}


def write(results, cfg: Config, out_dir, *, wall_seconds: float, command: str = "",
          log_scale: bool | None = None) -> list[Path]:
    """Write the report files into ``out_dir``; return their paths (report.html first)."""
    out = Path(out_dir)
    images = figures(results, cfg.output.log_scale if log_scale is None else log_scale)
    written = [atomic_write_text(out / "report.html", html_page(results, cfg, images, wall_seconds=wall_seconds,
                                                                command=command)),
               atomic_write_text(out / "summary.md", markdown(results, cfg, images, wall_seconds=wall_seconds,
                                                              command=command)),
               atomic_write_text(out / "results.json",
                                 json.dumps(results_json(results, cfg, wall_seconds=wall_seconds), indent=1,
                                            allow_nan=False) + "\n"),
               atomic_write_text(out / "config.toml", to_toml(cfg.to_dict()))]
    for stem, png in images.items():
        written.append(atomic_write_bytes(out / "plots" / f"{stem}.png", png))
    return written
