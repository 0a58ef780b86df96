"""The benchmark harness on tiny sizes: it runs, its contenders do the same work, and the table
and targets come out. Speed itself is never asserted."""
import json

import numpy as np
import pytest

from deepbasics.studies import bench
from deepbasics.cli import main
from deepbasics.errors import DeepBasicsError


def test_teacher_data_is_float32_deterministic_and_uses_every_class():
    X, labels = bench.teacher_data(3000, 20, chunk=1000)
    X2, labels2 = bench.teacher_data(3000, 20, chunk=700)        # chunking does not change the data
    assert X.dtype == np.float32 and X.shape == (3000, 20) and labels.shape == (3000,)
    assert set(np.unique(labels)) == set(range(10))
    np.testing.assert_array_equal(labels, labels2)
    np.testing.assert_array_equal(X, X2)


def test_mlp_flops_count():
    # 784-1024-1024-10: forward 1,861,632 MACs, dW the same, dx all but the first layer
    assert bench.mlp_flops_per_example([784, 1024, 1024, 10]) == 2 * (3 * 1861632 - 784 * 1024)


@pytest.mark.parametrize("engine", ["numpy", "jax"])
def test_epoch_seconds_trains_float32(engine):
    if engine == "jax":
        pytest.importorskip("jax")
    X, labels = bench.teacher_data(600, 12)
    model = bench.wide_model(n_in=12, width=16)
    seconds, costs = bench.epoch_seconds(model, X, labels, engine=engine, batch_size=256)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    assert costs[1] < costs[0] and model.get_weights()[0].dtype == np.float32


def test_pytorch_contender_does_the_same_work():
    pytest.importorskip("torch")
    X, labels = bench.teacher_data(600, 12)
    _, ours = bench.epoch_seconds(bench.wide_model(n_in=12, width=16), X, labels, engine="numpy")
    _, theirs = bench.torch_epoch_seconds(bench.wide_model(n_in=12, width=16), X, labels)
    # same initial weights, batches, loss and Adam: the costs agree to float32 rounding
    np.testing.assert_allclose(theirs, ours, rtol=1e-4)


def test_pytorch_contender_with_batchnorm():
    pytest.importorskip("torch")
    X, labels = bench.teacher_data(512, 8)
    make = lambda: bench.deep_model(depth=2, width=8, n_in=8)   # noqa: E731
    _, ours = bench.epoch_seconds(make(), X, labels, engine="numpy")
    _, theirs = bench.torch_epoch_seconds(make(), X, labels)
    np.testing.assert_allclose(theirs, ours, rtol=1e-3)


def test_sgemm_rate_is_positive():
    assert bench.sgemm_gflops(n=64, repeat=2) > 0


def test_targets_and_table_from_rows():
    rows = [bench._row("S", "document's code", 60.0, ratio=1.0, vs="document's code"),
            bench._row("S", "deepbasics numpy", 30.0, ratio=2.0, vs="document's code"),
            bench._row("S", "deepbasics jax, warm cache", 3.0, ratio=20.0, vs="document's code"),
            bench._row("W", "pytorch eager", 10.0, ratio=1.0, vs="pytorch eager"),
            bench._row("W", "deepbasics jax", 8.0, ratio=1.25, vs="pytorch eager", of_sgemm=0.5)]
    rows += [bench._row("scaling m", f"numpy m={m}", m / 1000 + 0.5, m=m, engine="numpy") for m in (1e3, 1e4, 1e5)]
    found = {t["target"]: t for t in bench.targets(rows)}
    assert found["S: deepbasics jax, warm cache vs document's code (x faster)"]["met"] is True
    assert found["S: deepbasics auto, warm cache, all cores vs document's code (x faster)"]["met"] is None
    assert found["S: deepbasics numpy vs document's code (x faster)"]["met"] is False
    assert found["W: deepbasics numpy throughput vs PyTorch eager (x)"]["met"] is None
    assert found["W: deepbasics jax share of SGEMM"]["met"] is False
    linear = [t for t in found.values() if t["target"].startswith("scaling m: numpy")][0]
    assert linear["met"] is True and linear["value"] > 0.999   # exactly 0.5 + m/1000
    table = bench.format_table({"rows": rows, "targets": bench.targets(rows)})
    assert "deepbasics jax, warm cache" in table and "20.00x" in table and "MISSED" in table


def test_linear_misfit():
    assert bench.linear_misfit([(1, 2.0), (10, 11.0), (100, 101.0)]) < 1e-12
    assert bench.linear_misfit([(1, 1.0), (10, 10.0), (100, 1000.0)]) > 0.2      # quadratic


def test_memory_task_in_a_fresh_process():
    out = bench._child("memory", {"m": 512, "engine": "numpy", "limit_s": 60})
    assert out["data_mb"] > 1 and out["params_mb"] > 7 and out["peak_mb"] >= out["rss_before_fit_mb"]


def test_unknown_workload_and_missing_reference_are_errors(tmp_path):
    with pytest.raises(DeepBasicsError, match="unknown workload"):
        bench.run(["Z"])
    with pytest.raises(DeepBasicsError, match="does not exist"):
        bench.bench_s(True, tmp_path / "nope.py", lambda *_: None)


def test_cli_bench_prints_the_table_and_writes_json(tmp_path, monkeypatch, capsys):
    # the real workloads take minutes; the CLI is checked around a tiny stand-in
    def tiny(workloads, quick=False, reference=None, say=print):
        rows = [bench._row("W", "deepbasics numpy", 0.5, note="tiny")]
        return {"machine": bench.machine() | {"load_average_at_end": None}, "rows": rows,
                "targets": bench.targets(rows), "seconds": 0.5, "quick": quick}
    monkeypatch.setattr(bench, "run", tiny)
    out = tmp_path / "bench.json"
    assert main(["bench", "--workload", "W", "--quick", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "deepbasics numpy" in printed and "cores" in printed
    data = json.loads(out.read_text())
    assert data["rows"][0]["contender"] == "deepbasics numpy" and data["machine"]["cores"] >= 1


def test_vmap_sweep_trains_the_same_runs_as_sequential_fits():
    pytest.importorskip("jax")
    from deepbasics.learn import optim
    from deepbasics.studies import reproduce
    X, y = __import__("deepbasics").datasets.moons(n_samples=900, noise=0.2, seed=3)
    lrs = [1e-3, 1e-2]
    _, costs = bench.vmap_sweep_seconds(lrs, epochs=20)
    want = [reproduce.document_model().fit(X, y, optimizer=optim.Adam(lr=lr), epochs=20, batch_size=64,
                                          shuffle_seed=10, engine="jax").cost[-1] for lr in lrs]
    np.testing.assert_allclose(costs, want, rtol=1e-12)


@pytest.mark.slow            # ~20 fresh processes (each reader, its import baseline, each trainer): about a minute
def test_large_data_workload_quick_gives_every_contender_a_number(tmp_path, capsys):
    pytest.importorskip("pandas")
    pytest.importorskip("torch")
    out = tmp_path / "large.json"
    assert main(["bench", "--workload", "L", "--quick", "--json", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())["rows"]
    want = {("L read csv", name) for name, spec in bench.L_READERS.items() if spec[0] == "csv"}
    want |= {("L read parquet", name) for name, spec in bench.L_READERS.items() if spec[0] == "parquet"}
    want |= {("L epoch", name) for name in bench.L_TRAINERS} | {("L train", "deepbasics train (CSV, 1 epoch, float32)")}
    got = {(r["workload"], r["contender"]): r for r in rows}
    assert set(got) == want | {("L", "100,000 x 20 + label")}
    for key in want:
        row = got[key]
        assert row["seconds"] > 0, key
        assert key[1] in printed
        if key[0] != "L epoch":
            assert row["peak_mb"] > row["imports_mb"] > 0, key
        if key[0].startswith("L read"):
            assert row["ratio"] > 0 and row["vs"] in ("pandas", "pyarrow"), key
    assert got[("L epoch", "deepbasics auto")]["engine"] in ("numpy", "jax")
    assert got[("L epoch", "deepbasics numpy")]["engine"] == "numpy"
    # the memory-mapped X is trained on in place: fit holds far less than a copy of X
    mapped = got[("L epoch", "deepbasics auto, X np.memmap")]
    assert mapped["x_mb"] == pytest.approx(4 * 100_000 * 20 / 2**20) and mapped["fit_anon_mb"] < mapped["x_mb"] / 2
    costs = [got[("L epoch", name)]["costs"][-1] for name in bench.L_TRAINERS]
    assert max(costs) - min(costs) < 0.01      # the same network, data and optimizer everywhere


def test_xl_workload_trains_from_the_map_twice(tmp_path, monkeypatch, capsys):
    """XL (here at 200,000 rows): the table written a row group at a time, then two whole
    `deepbasics train` runs from the memory-mapped cache, each with its time and peak memory."""
    monkeypatch.setattr(bench, "XL_ROWS_QUICK", 200_000)
    monkeypatch.setattr(bench, "XL_BLOCK", 64_000)
    out = tmp_path / "xl.json"
    assert main(["bench", "--workload", "XL", "--quick", "--json", str(out), "--quiet"]) == 0
    rows = {r["contender"]: r for r in json.loads(out.read_text())["rows"] if r["workload"] == "XL train"}
    assert set(rows) == {"deepbasics train, first run (converts)", "deepbasics train, second run (cached)"}
    for row in rows.values():
        assert row["seconds"] > 0 and row["peak_mb"] > row["imports_mb"] > 0 and row["engine"] == "numpy"
    assert "200,000 x 20 float32 + label" in capsys.readouterr().out


def test_xl_table_is_written_in_row_groups(tmp_path, monkeypatch):
    import pyarrow.parquet as pq
    monkeypatch.setattr(bench, "XL_BLOCK", 1_000)
    bench.xl_table(tmp_path / "t.parquet", 2_500, n=3)
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    assert (meta.num_rows, meta.num_row_groups, meta.num_columns) == (2_500, 3, 4)
    labels = pq.read_table(tmp_path / "t.parquet").column("label").to_numpy()
    assert set(np.unique(labels)) == {0, 1}
