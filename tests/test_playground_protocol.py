"""The playground's messages: checking (types, ranges, limits, the one validator's errors with
their keys), encoding, the option lists and presets, and the config keys the playground added
(data.features, model.batch_norm_position)."""
import copy
import dataclasses
import json
import math

import numpy as np
import pytest

from deepbasics.nn import activations, initializers
from deepbasics.runs import config, experiment
from deepbasics.learn import optim, schedules
from deepbasics.nn.batchnorm import BatchNorm
from deepbasics.errors import DeepBasicsError
from deepbasics.data import datasets
from deepbasics.playground import presets, protocol
from deepbasics.playground.rates import GrowingRates
from deepbasics.playground.trainer import Trainer
from deepbasics.playground.uploads import Uploads, read_upload


def base() -> dict:
    return copy.deepcopy(presets.options()["default"]["config"])


def configure(cfg, compare=None) -> str:
    return json.dumps({"type": "configure", "config": cfg, "compare": compare})


def refused(text) -> protocol.ProtocolError:
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.parse(text)
    return info.value


# -- commands ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["play", "pause", "step", "reset", "export"])
def test_simple_commands_parse(kind):
    assert protocol.parse(json.dumps({"type": kind})) == {"type": kind}


def test_speed_takes_a_positive_number_or_null():
    assert protocol.parse('{"type": "speed", "epochs_per_second": 50}')["epochs_per_second"] == 50.0
    assert protocol.parse('{"type": "speed", "epochs_per_second": null}')["epochs_per_second"] is None
    for bad in ("0", "-3", '"fast"', "true", "1e9"):
        err = refused('{"type": "speed", "epochs_per_second": %s}' % bad)
        assert err.key == "epochs_per_second" and "epochs_per_second" in str(err)
    assert refused('{"type": "speed"}').key == "epochs_per_second"


@pytest.mark.parametrize("text, words", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"kind": "play"}', '"type"'),
    ('{"type": 3}', '"type"'),
    ('{"type": "rm -rf"}', "unknown message type 'rm -rf'"),
    ('{"type": "speed", "epochs_per_second": NaN}', "not valid JSON"),
    ('{"type": "configure"}', '"config"'),
    ('{"type": "configure", "config": [1]}', '"config"'),
    ('{"type": "configure", "config": {}, "compare": 3}', '"compare"'),
])
def test_malformed_messages_get_one_line(text, words):
    err = refused(text)
    assert words in str(err) and "\n" not in str(err)


def test_a_message_over_64_kib_is_refused_before_parsing():
    cfg = base()
    cfg["description"] = "x" * (64 * 1024)
    err = refused(configure(cfg))
    assert "64 KiB" in str(err)
    assert len(configure(base())) < protocol.MAX_MESSAGE


# -- configurations ------------------------------------------------------------------------------
def test_the_default_configuration_is_accepted_and_built_by_the_one_validator():
    msg = protocol.parse(configure(base()))
    assert isinstance(msg["config"], config.Config) and msg["compare"] is None
    assert msg["config"].optimizer == optim.Adam(lr=0.0001)
    assert set(msg) == {"type", "config", "compare"}


@pytest.mark.parametrize("section, key, value, want_key, words", [
    ("optimizer", "lr", -1.0, "optimizer.lr", "learning rate"),
    ("optimizer", "beta1", 1.5, "optimizer.beta1", "beta1"),
    ("optimizer", "lr", "fast", "optimizer.lr", "a number"),
    ("optimizer", "name", "sgdx", "optimizer.name", "choose one of"),
    ("model", "activation", "swish", "model.activation", "choose one of"),
    ("model", "init", 3, "model.init", "string"),
    ("model", "dropout", 1.0, "model.dropout", "dropout < 1"),
    ("model", "batch_norm_position", "middle", "model.batch_norm_position", "before, after"),
    ("train", "batch_size", 0, "train.batch_size", ">= 1"),
    ("train", "engine", "torch", "train.engine", "choose one of"),
    ("data", "noise", -0.1, "data.noise", ">= 0"),
    ("data", "features", ["x1", "x3"], "data.features", "x1^2"),
    ("data", "n_samples", 10_001, "data.n_samples", "at most 10,000"),
    ("data", "name", "mnist", "data.name", "choose one of"),
    ("data", "path", "/etc/passwd", "data.path", "uploaded file"),
    ("data", "fingerprint", "0123456789abcdef", "data.fingerprint", "uploaded file"),
    ("model", "hidden", [], "model.hidden", "1 to 50"),
    ("model", "hidden", [4] * 51, "model.hidden", "1 to 50"),
    ("model", "hidden", [4, 129], "model.hidden", "1 to 128"),
    ("split", "fractions", [0.8, 0.2, 0.0], "split.fractions", "test part"),
    ("model", "colour", "red", "model.colour", "not a setting"),
])
def test_bad_settings_name_their_key(section, key, value, want_key, words):
    cfg = base()
    cfg[section][key] = value
    err = refused(configure(cfg))
    assert err.key == want_key, str(err)
    assert words in str(err) and str(err).startswith(want_key.split(".")[0])
    assert "\n" not in str(err) and "playground:" not in str(err)


def test_a_grid_is_refused():
    cfg = base()
    cfg["grid"] = {"optimizer": ["gd", "adam"]}
    err = refused(configure(cfg))
    assert err.key == "grid" and "compare mode" in str(err)


def test_files_other_than_this_sessions_uploads_are_refused_without_reading_anything(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a,b,y\n1,2,0\n3,4,1\n")
    fingerprint = datasets.file_fingerprint(secret)
    for data in ({"name": "csv", "path": str(secret), "target": "y", "fingerprint": fingerprint},
                 {"name": "csv", "path": "../secret.csv", "target": "y", "fingerprint": fingerprint},
                 {"name": "csv", "path": "secret.csv", "target": "y", "fingerprint": fingerprint},
                 {"name": "npz", "path": str(secret)}):
        cfg = base()
        cfg["data"] = data
        err = refused(configure(cfg))
        assert err.key == "data.path" and str(tmp_path) not in str(err)
    cfg["data"] = {"name": "csv", "path": "secret.csv", "target": "y", "fingerprint": fingerprint}
    err = refused(configure(cfg))
    assert "secret.csv" in str(err) and fingerprint in str(err) and "drop that file" in str(err)
    cfg["data"].pop("fingerprint")
    assert refused(configure(cfg)).key == "data.fingerprint"


def uploaded(tmp_path, name="three.csv", text=None) -> tuple[Uploads, dict]:
    """A session's uploads holding one CSV file of 60 rows, three classes."""
    rows = "".join(f"{i % 7},{(i * 3) % 5},{i % 4},{'abc'[i % 3]}\n" for i in range(60))
    uploads = Uploads(tmp_path / "session")
    entry = read_upload(uploads.root, name, (text or "p,q,r,kind\n" + rows).encode())
    uploads.keep(entry)
    return uploads, entry


def test_an_uploaded_file_is_read_from_the_sessions_folder_by_name_and_fingerprint(tmp_path):
    uploads, entry = uploaded(tmp_path)
    assert entry["columns"] == [{"name": c, "kind": k} for c, k in
                                (("p", "number"), ("q", "number"), ("r", "number"), ("kind", "text"))]
    cfg = base()
    cfg["data"] = {"name": "csv", "path": "three.csv", "fingerprint": entry["fingerprint"], "target": "kind",
                   "features": ["p", "q", "r"], "plane": ["r", "p"]}
    checked = protocol.parse(configure(cfg), uploads=uploads)["config"]
    assert checked.data.path == str((tmp_path / "session" / entry["fingerprint"] / "three.csv").resolve())
    assert checked.data.plane == ("r", "p")
    assert protocol.parse(configure(cfg, base()), uploads=uploads)["compare"].data == checked.data
    for key, value, words in (("fingerprint", "0" * 16, "does not hold"), ("path", "other.csv", "does not hold"),
                              ("memory", "map", "into memory")):
        bad = copy.deepcopy(cfg)
        bad["data"][key] = value
        with pytest.raises(protocol.ProtocolError, match=words):
            protocol.parse(configure(bad), uploads=uploads)
    uploads.close()
    assert not (tmp_path / "session").exists()
    with pytest.raises(protocol.ProtocolError, match="does not hold"):
        protocol.parse(configure(cfg), uploads=uploads)


def test_the_bundled_tables_and_the_regression_sets_are_accepted():
    for data in ({"name": "iris"}, {"name": "digits", "features": ["pixel_0_2", "pixel_3_4"]},
                 {"name": "plane", "n_samples": 500, "noise": 0.05}, {"name": "gaussians", "seed": 2}):
        cfg = base()
        cfg["data"] = data
        assert protocol.parse(configure(cfg))["config"].data.name == data["name"]
    cfg["data"] = {"name": "wine", "n_samples": 100}
    assert refused(configure(cfg)).key == "data.n_samples"


def test_compare_takes_the_first_configs_data_and_split_and_its_seeds_unless_it_has_its_own():
    a, b = base(), base()
    b["optimizer"] = {"name": "gd", "lr": 0.01}
    b["data"] = {"name": "circles"}
    del b["model"]["seed"], b["train"]["shuffle_seed"]
    msg = protocol.parse(configure(a, b))
    cb = msg["compare"]
    assert cb.data == msg["config"].data and cb.split == msg["config"].split
    assert cb.model.seed == a["model"]["seed"] and cb.train.shuffle_seed == a["train"]["shuffle_seed"]
    assert cb.optimizer == optim.GD(lr=0.01)
    b["model"]["seed"], b["train"]["shuffle_seed"] = 99, 98              # run B's own seeds
    own = protocol.parse(configure(a, b))["compare"]
    assert own.model.seed == 99 and own.train.shuffle_seed == 98
    b["optimizer"]["lr"] = "fast"
    err = refused(configure(a, b))
    assert err.key == "compare.optimizer.lr" and str(err).startswith("compare.optimizer.lr")


# -- encoding ------------------------------------------------------------------------------------
def test_encode_writes_nan_and_inf_as_null_and_numpy_as_plain_numbers():
    text = protocol.encode({"a": [np.float64("nan"), np.inf, np.float32(0.5)], "b": np.arange(3), "c": np.int64(7)})
    assert json.loads(text) == {"a": [None, None, 0.5], "b": [0, 1, 2], "c": 7}
    assert protocol.grid_values(np.array([[0.123456, np.nan]])) == [0.1235, None]


# -- options and presets -------------------------------------------------------------------------
def test_options_list_the_librarys_own_choices_once_each():
    opts = presets.options()
    assert json.loads(json.dumps(opts)) == opts
    acts = opts["activations"]
    assert {activations.ACTIVATIONS[a] for a in acts} == set(activations.ACTIVATIONS.values()) - \
        {activations.ACTIVATIONS["softmax"]}
    assert len(acts) == len({activations.ACTIVATIONS[a] for a in acts})
    assert {initializers.INITIALIZERS[i] for i in opts["initializers"]} == set(initializers.INITIALIZERS.values())
    assert set(opts["optimizers"]) == {"gd", "momentum", "rmsprop", "adam", "adamw", "adagrad"}
    assert opts["optimizers"]["momentum"]["form"] == ["ema", "heavy_ball", "nesterov"]
    assert set(opts["schedules"]) == {"constant", "inverse_time", "exponential", "step"}
    assert opts["batch_sizes"][0] == 1 and opts["batch_sizes"][-1] == "full"
    assert opts["limits"]["max_points"] == 10_000 and opts["limits"]["max_sessions"] == 4
    assert opts["limits"]["max_rows"] == 100_000 and opts["limits"]["max_upload_mb"] == 20
    assert set(opts["regression"]) == {"plane", "gaussians"} <= set(opts["datasets"])
    assert opts["tables"] == ["digits", "breast_cancer", "iris", "wine"] and opts["files"] == ["csv", "parquet"]


def test_every_preset_passes_the_checks():
    for p in presets.presets():
        msg = protocol.parse(configure(p["config"], p["compare"]))
        assert msg["config"].split.fractions[2] > 0, p["id"]


def _shipped_runs(name):
    return {label: cfg for label, cfg in config.expand(config.load(name))}


def test_the_chapter_presets_match_the_shipped_chapter_configs():
    shipped = _shipped_runs("moons_optimizers")
    by_id = {p["id"]: protocol.check_config(p["config"]) for p in presets.presets()}
    for opt in ("gd", "momentum", "adam"):
        ours, theirs = by_id[f"chapter-{opt}"], shipped[opt]
        assert ours.optimizer == theirs.optimizer
        assert dataclasses.replace(ours.model, batch_norm_position=None) == theirs.model
        for key in ("batch_size", "shuffle_seed", "shuffle"):
            assert getattr(ours.train, key) == getattr(theirs.train, key)
        assert ours.data.options() == theirs.data.options() and ours.data.standardize is False
    decay = _shipped_runs("moons_decay")["gd"]
    assert by_id["chapter-schedule-lr-decay"].schedule == decay.schedule
    assert by_id["chapter-schedule-lr-decay"].optimizer == decay.optimizer
    # the chapter's update_lr run: GD from 0.5, lr0 / (1 + epoch)
    assert by_id["chapter-update-lr"].schedule == schedules.InverseTimeDecay(decay_rate=1.0)
    assert by_id["chapter-update-lr"].optimizer == optim.GD(lr=0.5)
    deep = next(p for p in presets.presets() if p["id"] == "compare-deep")
    a, b = protocol.check_config(deep["config"]), protocol.compare_config(deep["config"], deep["compare"])[0]
    assert (a.model.init, a.model.activation, a.model.batch_norm, len(a.model.hidden)) == \
        ("standard_normal", "sigmoid", False, 20)
    assert (b.model.init, b.model.activation, b.model.batch_norm, len(b.model.hidden)) == ("he_normal", "relu", True, 20)


def test_the_gradient_descent_depth_preset_shows_the_gradient_vanish_and_the_cure_train():
    """Depth 20 under plain GD: sigmoid's first layer gets a gradient ~1e-13 of its last layer's and
    the cost stays at log 2, while He + ReLU + BatchNorm keeps its gradients level and learns."""
    deep = next(p for p in presets.presets() if p["id"] == "compare-deep-gd")
    a, b = protocol.check_config(deep["config"]), protocol.compare_config(deep["config"], deep["compare"])[0]
    assert a.optimizer == b.optimizer == optim.GD(lr=0.1)
    t = Trainer(a, b)
    t.advance(1)
    first = t.frame(boundary=False)["runs"]
    t.advance(14)
    last = t.frame(boundary=False)["runs"]
    grads = [[layer["grad_norm"] for layer in run["layers"]] for run in first]
    assert grads[0][0] < 1e-9 * grads[0][-1]                    # sigmoid: vanished
    assert grads[1][0] > 0.1 * grads[1][-1]                     # He + ReLU + BatchNorm: level
    assert last[0]["points"]["cost"][-1] > 0.69                 # stuck at log 2
    assert last[1]["points"]["cost"][-1] < 0.3


# -- the schedule cache --------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [
    schedules.Constant(), schedules.InverseTimeDecay(1.0), schedules.InverseTimeDecay(1.0, interval=7),
    schedules.ExponentialDecay(0.9, decay_every=3, staircase=True), schedules.StepDecay(0.5, step_size=4),
    schedules.InverseTimeDecay(0.5, unit="step"), schedules.Constant(timing="immediate"),
])
def test_growing_rates_are_the_schedules_own_rates_bit_for_bit(schedule):
    cached = GrowingRates(schedule)
    for epochs in (1, 2, 5, 13, 40, 41, 100):
        got, want = cached.rates(0.3, epochs, 3), schedule.rates(0.3, epochs, 3)
        assert got.shape == want.shape and np.array_equal(got, want)
    assert np.array_equal(cached.rates(0.1, 9, 2), schedule.rates(0.1, 9, 2))    # a new lr0 starts over
    assert cached.rate_after_epoch(0.3, 10, 3) == schedule.rate_after_epoch(0.3, 10, 3)
    assert repr(cached) == repr(schedule)


# -- the config keys the playground added -----------------------------------------------------------
def test_data_features_are_computed_from_the_raw_plane_before_standardising():
    raw = {"data": {"name": "moons", "n_samples": 200, "seed": 1, "features": ["x1", "x1*x2", "sin(x2)", "x2^2"],
                    "standardize": False}}
    prep = experiment.prepare(config.from_dict(raw))
    plain = experiment.prepare(config.from_dict({"data": {"name": "moons", "n_samples": 200, "seed": 1,
                                                          "standardize": False}}))
    x1, x2 = plain.X_train[:, 0], plain.X_train[:, 1]
    assert np.array_equal(prep.X_train, np.column_stack([x1, x1 * x2, np.sin(x2), x2 * x2]))
    assert prep.dataset.feature_names == ("x1", "x1*x2", "sin(x2)", "x2^2")
    std = experiment.prepare(config.from_dict({"data": dict(raw["data"], standardize=True)}))
    assert np.allclose(std.X_train.mean(axis=0), 0, atol=1e-12) and np.allclose(std.X_train.std(axis=0), 1)
    text = config.to_toml(config.from_dict(raw).to_dict())
    assert 'features = ["x1", "x1*x2", "sin(x2)", "x2^2"]' in text


@pytest.mark.parametrize("features, words", [(["x1", "x1"], "twice"), (["z"], "choose from")])
def test_bad_data_features_are_config_errors(features, words):
    with pytest.raises(DeepBasicsError, match=words):
        config.from_dict({"data": {"name": "xor", "features": features}}, source="t.toml")
    with pytest.raises(DeepBasicsError, match="2-D data only"):
        config.from_dict({"data": {"name": "blobs", "n_features": 3, "features": ["x1"]}}, source="t.toml")


@pytest.mark.parametrize("position, order", [(None, ["Dense", "BatchNorm", "ReLU"]),
                                             ("before", ["Dense", "BatchNorm", "ReLU"]),
                                             ("after", ["Dense", "ReLU", "BatchNorm"])])
def test_batch_norm_position_places_the_layer(position, order):
    model_raw = {"hidden": [4], "batch_norm": True, **({} if position is None else {"batch_norm_position": position})}
    cfg = config.from_dict({"data": {"name": "moons", "n_samples": 50}, "model": model_raw})
    prep = experiment.prepare(cfg)
    model, _ = experiment.build_model(cfg, prep.dataset, 2)
    assert [type(layer).__name__ for layer in model.layers[:3]] == order
    assert sum(isinstance(layer, BatchNorm) for layer in model.layers) == 1
    assert ("batch_norm_position" in cfg.to_dict()["model"]) == (position is not None)


def test_fit_arguments_are_what_a_train_run_passes():
    cfg = config.from_dict({"data": {"name": "moons", "n_samples": 60}, "train": {"batch_size": "full",
                                                                                  "noise_seed": 5}})
    prep = experiment.prepare(cfg)
    args = experiment.fit_arguments(cfg, "binary_crossentropy", experiment.validation_of(prep))
    assert args["batch_size"] is None and args["noise_seed"] == 5 and args["engine"] == cfg.train.engine
    assert np.shares_memory(args["validation_data"][0], prep.X) and len(args["validation_data"][0]) == 9
    assert not {"epochs", "initial_epoch", "on_epoch"} & set(args)
    assert math.isclose(args["optimizer"].lr, 0.001)


def test_errors_found_while_building_name_their_key_too():
    raw = base()
    raw["data"] = {"name": "blobs", "centers": 3}
    raw["model"]["output"] = "sigmoid"
    cfg = protocol.check_config(raw)                  # valid settings, an impossible combination
    with pytest.raises(DeepBasicsError) as info:
        experiment.build_model(cfg, experiment.prepare(cfg).dataset, 2)
    msg = protocol.error_of(info.value)
    assert msg["key"] == "model.output" and msg["message"].startswith("model.output")
    assert protocol.error_of(DeepBasicsError("something odd"))["key"] is None


# -- anything the page might send -------------------------------------------------------------------
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | \
    st.text(max_size=12) | st.sampled_from(["moons", "relu", "he_normal", "adam", "full", "x1", "before", "plane",
                                            "iris", "csv"])
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) |
                       st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_keys = {"data": ["name", "n_samples", "noise", "seed", "features", "factor", "standardize", "path"],
         "split": ["fractions", "seed", "stratify"],
         "model": ["hidden", "activation", "init", "seed", "batch_norm", "batch_norm_position", "dropout", "l1"],
         "train": ["batch_size", "shuffle_seed", "engine", "epochs", "clip_norm"],
         "optimizer": ["name", "lr", "beta", "beta1", "form"], "schedule": ["name", "decay_rate", "interval"]}


@st.composite
def _mutated(draw):
    """The default configuration with a few settings replaced by arbitrary JSON values."""
    cfg = base()
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(sorted(_keys)))
        if draw(st.integers(0, 9)) == 0:
            cfg[section] = draw(_values)
        elif isinstance(cfg.get(section), dict):
            cfg[section][draw(st.sampled_from(_keys[section]))] = draw(_values)
    return cfg


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.one_of(st.none(), _mutated()))
def test_any_configuration_is_accepted_or_refused_with_one_line(cfg, compare):
    try:
        msg = protocol.parse(configure(cfg, compare))
    except protocol.ProtocolError as err:
        assert str(err) and "\n" not in str(err)
        assert err.key is None or isinstance(err.key, str)
        assert "Traceback" not in str(err)
    else:
        assert isinstance(msg["config"], config.Config)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "config", "compare", "epochs_per_second", "x"]),
                       _values | st.sampled_from(list(protocol.COMMANDS)), max_size=4))
def test_any_message_is_a_command_or_a_protocol_error(msg):
    try:
        out = protocol.parse(json.dumps(msg))
    except protocol.ProtocolError:
        return
    assert out["type"] in protocol.COMMANDS


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_an_accepted_configuration_builds_or_fails_with_one_line(cfg):
    """What passes the checks either builds a session (data, model, the first frame) or fails with
    a DeepBasicsError the page can show, never another exception."""
    from deepbasics.playground.trainer import Trainer
    try:
        checked = protocol.check_config(cfg)
    except protocol.ProtocolError:
        return
    try:
        trainer = Trainer(checked)
    except DeepBasicsError as err:
        assert "\n" not in str(err)
        return
    json.loads(protocol.encode(trainer.frame(boundary=True)))
