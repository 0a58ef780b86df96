"""The house: rooms by role, imports pointing one way, no cycles, small functions.

Read from the source with ``ast`` (nothing is imported), so a new module is checked the moment
it exists. The rooms, from the bottom up:

    errors fileio version      the foundations every room may use
    nn                         the model's math
    learn                      optimizers, schedules, the step, engines, the loop, the model
    data                       data sets and splits
    runs                       the checked spec (config), experiments, the process runner
    studies                    the document's code, reproduce, the depth experiment, bench
    report                     plots and reports
    sklearn cluster playground the front ends ...
    cli                        ... and the command line above them
    __init__ __main__          the face
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deepbasics"
RANK = {"errors": 0, "fileio": 0, "version": 0, "nn": 1, "learn": 2, "data": 3, "runs": 4, "studies": 5,
        "report": 6, "sklearn": 7, "cluster": 7, "playground": 7, "cli": 8, "": 9, "__main__": 9}
# Lazy imports that point up on purpose: History.plot, a convenience users call, draws with the
# report room's function; the cluster's probe reads the version of whatever deepbasics a worker has
# installed, and only the face (deepbasics.__version__) is sure to be there in every version.
SANCTIONED_UPWARD = {("learn.history", "report.plots"), ("cluster.probe", "")}
CORE = ("nn", "learn")
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    """'learn.model' -> its path, for every module of the package ('' is the face)."""
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def room(module: str) -> str:
    return module.split(".")[0]


def imports(module: str, path: Path):
    """(imported module, at module level?) for every import of deepbasics inside ``module``."""
    tree = ast.parse(path.read_text())
    top_level = {id(n) for n in tree.body} | {id(n) for t in tree.body if isinstance(t, (ast.If, ast.Try))
                                               for n in ast.walk(t)}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    known = modules()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{target}.{alias.name}".lstrip(".")
                yield (sub if sub in known else target), id(node) in top_level
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                if name == "deepbasics" or name.startswith("deepbasics."):
                    yield name[len("deepbasics."):] if "." in name else "", id(node) in top_level


def graph(level_only: bool) -> dict[str, set[str]]:
    return {m: {t for t, top in imports(m, p) if t != m and (top or not level_only)} for m, p in modules().items()}


def test_the_top_level_holds_only_the_face_and_the_foundations():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "errors.py", "fileio.py", "version.py"]
    rooms = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert rooms == ["cli", "cluster", "data", "learn", "nn", "playground", "report", "runs", "sklearn", "studies"]
    for name in rooms:                          # each room says what it holds
        assert ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))


def test_every_module_lives_in_a_known_room():
    assert {room(m) for m in modules()} <= set(RANK)


def test_imports_point_down_the_rooms():
    upward = []
    for module, targets in graph(level_only=False).items():
        for target in targets:
            if RANK[room(target)] > RANK[room(module)] and (module, target) not in SANCTIONED_UPWARD:
                upward.append(f"{module} -> {target}")
    assert upward == []


def test_a_front_end_never_imports_another_but_the_command_line():
    crossing = [f"{m} -> {t}" for m, ts in graph(level_only=False).items() for t in ts
                if RANK[room(m)] == RANK[room(t)] == 7 and room(m) != room(t)]
    assert crossing == []


def test_no_import_cycles():
    """Not even through an import inside a function."""
    edges = graph(level_only=False)
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize("room_name", CORE)
def test_the_cores_functions_read_at_once(room_name):
    long = []
    for path in (PACKAGE / room_name).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({n} lines)")
    assert long == []


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """The rules above can fail: a math module that imports the CLI is caught."""
    fake = tmp_path / "deepbasics"
    (fake / "nn").mkdir(parents=True)
    (fake / "cli").mkdir()
    for init in (fake / "__init__.py", fake / "nn" / "__init__.py", fake / "cli" / "__init__.py"):
        init.write_text('"""x"""\n')
    (fake / "nn" / "bad.py").write_text("def f():\n    from ..cli import main\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    assert "cli" in graph(level_only=False)["nn.bad"]
    with pytest.raises(AssertionError):
        test_imports_point_down_the_rooms()
