"""Experiment configs: defaults, shipped examples, grids, overrides, and errors that name the key."""
import sys

import pytest

from deepbasics.learn import optim, schedules
from deepbasics.runs import config
from deepbasics.errors import DeepBasicsError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def parse(text: str) -> config.Config:
    return config.from_dict(tomllib.loads(text), "c.toml")


def test_defaults():
    cfg = parse("")
    assert cfg.data.name == "moons" and cfg.model.hidden == (5, 2) and cfg.model.init == "he_normal"
    assert cfg.train.epochs == 1000 and cfg.train.batch_size == 64
    assert cfg.optimizer == optim.Adam() and cfg.schedule == schedules.Constant()
    assert cfg.split.fractions is None                       # the document's convention
    assert str(cfg.report_dir()) == "reports/c"                # named after the file


@pytest.mark.parametrize("name", sorted(config.shipped()))
def test_every_shipped_config_loads_and_expands(name):
    cfg = config.load(name)
    runs = config.expand(cfg)
    assert runs and all(not run.grid for _, run in runs)
    assert cfg.description


def test_the_documents_experiment_ships():
    cfg = config.load("moons_optimizers")
    assert (cfg.data.name, cfg.data.n_samples, cfg.data.noise, cfg.data.seed) == ("moons", 900, 0.2, 3)
    assert cfg.model.hidden == (5, 2) and cfg.model.activation == "relu" and cfg.model.seed == 3
    assert cfg.train.batch_size == 64 and cfg.train.shuffle_seed == 10
    runs = config.expand(cfg)
    assert [label for label, _ in runs] == ["gd", "momentum", "adam"]
    assert [r.optimizer for _, r in runs] == [optim.GD(lr=0.0001), optim.Momentum(lr=0.001, beta=0.9),
                                             optim.Adam(lr=0.0001)]


def test_grid_is_a_product_with_readable_labels():
    cfg = parse('[grid]\n"model.init" = ["he_normal", "glorot_normal"]\n'
                'optimizer = ["gd", {name = "adam", lr = 0.01}]\n')
    runs = config.expand(cfg)
    assert [label for label, _ in runs] == ["he_normal · gd", "he_normal · adam",
                                            "glorot_normal · gd", "glorot_normal · adam"]
    assert runs[3][1].model.init == "glorot_normal" and runs[3][1].optimizer == optim.Adam(lr=0.01)
    assert runs[0][1].optimizer == optim.GD()            # a table replaces [optimizer] whole


def test_grid_merges_into_other_sections_and_repeated_names_get_settings():
    cfg = parse('[grid]\noptimizer = [{name = "adam", lr = 0.1}, {name = "adam", lr = 0.01}]\n'
                'train = [{epochs = 5, batch_size = 8}]\n')
    runs = config.expand(cfg)
    assert [label for label, _ in runs] == ["adam lr=0.1 · epochs=5 batch_size=8",
                                            "adam lr=0.01 · epochs=5 batch_size=8"]
    assert runs[0][1].train.epochs == 5 and runs[0][1].train.batch_size == 8


@pytest.mark.parametrize("text,message", [
    ('[data]\nname = "moon"', "c.toml: data.name is 'moon'; choose one of: moons, circles"),
    ('[data]\nn_samples = -5', "data.n_samples must be >= 1, got -5"),
    ('[data]\nnoise = "lots"', "data.noise must be a finite number, got 'lots'"),
    ('[data]\nfactor = 0.5', "data.factor does not apply to data set 'moons'; it takes: n_samples, noise, seed"),
    ('[data]\nname = "csv"\npath = "x.csv"', "data.target is required"),
    ('[data]\nname = "npz"', "data.path is required"),
    ('[model]\nhidden = [4, 0]', "model.hidden must be >= 1, got 0"),
    ('[model]\nhidden = "5,2"', "model.hidden must be a list of whole numbers, got '5,2'"),
    ('[model]\nactivation = "relu6"', "model.activation is 'relu6'; choose one of:"),
    ('[model]\nactivation = ["relu"]', "model.activation lists 1 activation(s) for 2 hidden layer(s)"),
    ('[model]\ninit = "he_normall"', "model.init is 'he_normall'; choose one of:"),
    ('[model]\ndropout = 1.0', "model.dropout must satisfy 0 <= dropout < 1, got 1.0"),
    ('[model]\nbatch_norm = "yes"', "model.batch_norm must be true or false, got 'yes'"),
    ('[train]\nepochs = 0', "train.epochs must be >= 1, got 0"),
    ('[train]\nepochs = 2.5', "train.epochs must be a whole number, got 2.5"),
    ('[train]\nbatch_size = "half"', 'train.batch_size must be a whole number >= 1 or "full"'),
    ('[train]\nloss = "hinge"', "train.loss is 'hinge'; choose one of: auto, binary_crossentropy"),
    ('[train]\nengine = "torch"', "train.engine is 'torch'; choose one of: auto, numpy, jax"),
    ('[train]\nepoch = 3', "train.epoch is not a setting of [train]; known: loss, epochs"),
    ('[optimizer]\nname = "adamm"', "optimizer.name is 'adamm'; choose one of: gd, sgd, momentum"),
    ('[optimizer]\nlr = -0.1', "optimizer: learning rate must be a finite number >= 0, got -0.1"),
    ('[optimizer]\nbeta1 = 1.5', "optimizer: beta1 must satisfy 0 <= beta1 < 1, got 1.5"),
    ('[optimizer]\nname = "gd"\nbeta = 0.9', "optimizer.beta is not a setting of optimizer 'gd'; it takes: name, lr"),
    ('[optimizer]\nlr = "fast"', "optimizer.lr must be a number, got 'fast'"),
    ('[schedule]\nname = "cosine"', "schedule.name is 'cosine'; choose one of: constant"),
    ('[schedule]\nname = "inverse_time"\ninterval = 0', "schedule: interval must be a whole number >= 1, got 0"),
    ('[split]\nfractions = [0.5, 0.5]', "split.fractions must be three numbers"),
    ('[split]\nfractions = [0.7, 0.2, 0.2]', "split.fractions must be three numbers"),
    ('[trian]\nepochs = 3', "c.toml: trian is not a config section or setting"),
    ('[grid]\n"optimizer.lr" = []', "grid.optimizer.lr must be a non-empty list"),
    ('[grid]\n"modle.init" = ["he"]', "grid.modle.init names no config section"),
    ('[grid]\n"optimizer.beta1" = [0.9, 2.0]', "optimizer: beta1 must satisfy 0 <= beta1 < 1, got 2.0"),
    ('[grid]\n"model.init" = ["he", "nope"]', "model.init is 'nope'"),
])
def test_errors_name_key_value_and_what_is_allowed(text, message):
    with pytest.raises(DeepBasicsError) as err:
        parse(text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_toml_and_unknown_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [")
    with pytest.raises(DeepBasicsError, match="bad.toml is not valid TOML"):
        config.load(str(bad))
    with pytest.raises(DeepBasicsError, match="neither a file nor a shipped config; shipped configs: "):
        config.load("no_such_config")


def test_overrides_are_read_as_toml_values():
    cfg = config.load("moons_adam", ["optimizer.lr=0.05", "model.hidden=[8, 4]", "model.init=glorot_normal",
                                     "train.shuffle=false"])
    assert cfg.optimizer.lr == 0.05 and cfg.model.hidden == (8, 4)
    assert cfg.model.init == "glorot_normal" and cfg.train.shuffle is False
    with pytest.raises(DeepBasicsError, match="key=value"):
        config.load("moons_adam", ["optimizer.lr"])


def test_config_file_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.toml"
    path.write_text('[data]\nname = "csv"\npath = "d.csv"\ntarget = "t"\n')
    cfg = config.load(str(path))
    assert cfg.base_dir == str(tmp_path / "sub") and cfg.name == "c"
    assert cfg.data.path == str((tmp_path / "sub" / "d.csv").resolve())   # saved configs still find it


def test_to_toml_round_trips():
    cfg = config.load("spirals_init")
    text = config.to_toml(cfg.to_dict())
    again = config.from_dict(tomllib.loads(text), "again.toml")
    assert again.to_dict() == cfg.to_dict()
    assert "delimiter" not in text                   # settings that do not apply are left out


def test_describe_defaults_lists_every_section():
    text = config.describe_defaults()
    for key in ("[data]", "[split]", "[model]", "[train]", "[output]", "# epochs = 1000", "# hidden = [5, 2]"):
        assert key in text


# -- one checked spec ---------------------------------------------------------------------------
def test_the_spec_is_immutable_and_holds_the_objects_the_run_uses():
    import dataclasses
    from deepbasics.learn.early_stopping import EarlyStopping
    cfg = parse('[optimizer]\nname = "momentum"\nlr = 0.05\nform = "nesterov"\n'
                '[train]\nearly_stopping = {patience = 3}\n[model]\nhidden = [8, 4]\n')
    assert cfg.optimizer == optim.Momentum(lr=0.05, form="nesterov")
    assert cfg.train.early_stopping == EarlyStopping(patience=3)
    for target, field in ((cfg, "name"), (cfg.model, "hidden"), (cfg.train, "epochs")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(target, field, None)
    # plain data out, and the same spec back in
    assert config.from_dict(cfg.to_dict(), "c") == dataclasses.replace(cfg, name=cfg.to_dict()["name"])
    assert cfg.to_dict()["optimizer"] == {"name": "momentum", "lr": 0.05, "form": "nesterov"}


@pytest.mark.parametrize("raw, key", [
    ({"optimizer": {"name": "adam", "beta1": 1.5}}, "optimizer.beta1"),
    ({"optimizer": {"name": "adam", "lr": -1.0}}, "optimizer.lr"),
    ({"optimizer": {"name": "momentum", "form": "nope"}}, "optimizer.form"),
    ({"schedule": {"name": "inverse_time", "interval": 0}}, "schedule.interval"),
    ({"schedule": {"name": "step", "unit": "hour"}}, "schedule.unit"),
    ({"train": {"early_stopping": {"patience": 0}}}, "train.early_stopping.patience"),
    ({"model": {"hidden": [0]}}, "model.hidden"),
    ({"model": {"dropout": 1.0}}, "model.dropout"),
    ({"data": {"name": "csv"}}, "data.path"),
    ({"split": {"fractions": [0.5, 0.5]}}, "split.fractions"),
])
def test_every_error_carries_its_settings_key_as_data(raw, key):
    with pytest.raises(config.ConfigError) as info:
        config.from_dict(raw, "x.toml")
    assert info.value.key == key and str(info.value).startswith("x.toml: ")


def test_every_front_end_meets_the_same_validator():
    """A bad learning rate from a TOML file, --set, the playground and an estimator: one check,
    one key, the same words."""
    from deepbasics.playground import protocol
    from deepbasics.sklearn import DeepClassifier
    import numpy as np
    errors = []
    with pytest.raises(config.ConfigError) as info:
        config.load("moons_adam", ["optimizer.lr=-1"])
    errors.append(info.value)
    with pytest.raises(protocol.ProtocolError) as info:
        protocol.check_config({"optimizer": {"name": "adam", "lr": -1}})
    errors.append(info.value)
    with pytest.raises(config.ConfigError) as info:
        DeepClassifier(learning_rate=-1).fit(np.zeros((4, 2)), [0, 1, 0, 1])
    errors.append(info.value)
    assert {e.key for e in errors} == {"optimizer.lr"}
    assert all("learning rate must be a finite number >= 0, got -1" in str(e) for e in errors)


def test_a_key_with_a_line_break_stays_on_one_line():
    """Found by hypothesis through the playground: an unknown key is shown escaped."""
    with pytest.raises(config.ConfigError) as info:
        config.from_dict({"data": {"\n": None}}, "playground")
    assert "\n" not in str(info.value) and info.value.key == "data.\n"


@pytest.mark.parametrize("overrides, key, blamed", [
    (["optimizer.lr=-1"], "optimizer.lr", "--set optimizer.lr: "),
    (["train.epochs=10", "optimizer.beta1=1.5"], "optimizer.beta1", "--set optimizer.beta1: "),
    (["train.early_stopping.patience=0"], "train.early_stopping.patience", "--set train.early_stopping.patience: "),
    (["model.hidden=[5, -2]"], "model.hidden", "--set model.hidden: model.hidden must be >= 1, got -2"),
    # fine alone, wrong with the file's other settings: the override still takes the blame
    (["split.fractions=[0.5, 0, 0.5]", "train.early_stopping={monitor='val_loss'}"], "train.early_stopping",
     "--set train.early_stopping: "),
])
def test_a_bad_override_is_blamed_on_the_set_not_the_shipped_file(overrides, key, blamed):
    with pytest.raises(config.ConfigError) as info:
        config.load("moons_adam", overrides)
    assert str(info.value).startswith(blamed) and "moons_adam.toml" not in str(info.value)
    assert info.value.key.startswith(key.split(".patience")[0]) and info.value.source == blamed.split(": ")[0]


def test_an_error_of_the_file_itself_still_names_the_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[optimizer]\nbeta1 = 1.5\n")
    with pytest.raises(config.ConfigError) as info:
        config.load(str(path), ["train.epochs=5"])
    assert str(info.value).startswith(f"{path}: optimizer: beta1 must satisfy")


# -- a file's fingerprint, the playground's plane, a bundled table's columns ---------------------------
@pytest.mark.parametrize("text, key, words", [
    ('[data]\nname = "moons"\nfingerprint = "abcdef12"', "data.fingerprint", "reads no file"),
    ('[data]\nname = "csv"\npath = "d.csv"\ntarget = "t"\nfingerprint = "xyz"', "data.fingerprint", "hexadecimal"),
    ('[data]\nname = "csv"\npath = "d.csv"\ntarget = "t"\nfingerprint = "abc"', "data.fingerprint", "8 to 64"),
    ('[data]\nname = "iris"\nplane = ["a"]', "data.plane", "two different"),
    ('[data]\nname = "iris"\nplane = ["a", "a"]', "data.plane", "two different"),
    ('[data]\nname = "moons"\nplane = ["x2", "x1"]', "data.plane", '"x1", "x2"'),
    ('[data]\nname = "csv"\npath = "d.csv"\ntarget = "t"\nfeatures = ["a", "b"]\nplane = ["a", "c"]',
     "data.plane", "'c'"),
    ('[data]\nname = "iris"\nn_samples = 100', "data.n_samples", "generated sets"),
    ('[data]\nname = "wine"\nseed = 1', "data.seed", "generated sets"),
])
def test_fingerprint_plane_and_generated_keys_are_checked(text, key, words):
    with pytest.raises(config.ConfigError) as info:
        parse(text)
    assert info.value.key == key and words in str(info.value)


def test_fingerprint_and_plane_round_trip_through_toml():
    cfg = parse('[data]\nname = "csv"\npath = "d.csv"\ntarget = "t"\nfeatures = ["a", "b", "c"]\n'
                'fingerprint = "0123456789abcdef"\nplane = ["c", "a"]')
    assert cfg.data.fingerprint == "0123456789abcdef" and cfg.data.plane == ("c", "a")
    back = cfg.to_dict()["data"]
    assert back["fingerprint"] == "0123456789abcdef" and back["plane"] == ["c", "a"]
    assert "fingerprint" not in parse('[data]\nname = "moons"').to_dict()["data"]


def test_a_run_refuses_a_file_that_is_not_the_fingerprinted_one(tmp_path):
    from deepbasics.data import datasets
    from deepbasics.runs import experiment
    data = tmp_path / "d.csv"
    data.write_text("a,b,t\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    right = datasets.file_fingerprint(data)
    raw = {"data": {"name": "csv", "path": "d.csv", "target": "t", "fingerprint": right}}
    assert len(experiment.prepare(config.from_dict(raw, "c.toml", str(tmp_path))).y) == 40
    raw["data"]["fingerprint"] = right[:8]                      # a shorter start names it too
    experiment.prepare(config.from_dict(raw, "c.toml", str(tmp_path)))
    data.write_text(data.read_text() + "99,0,1\n")
    with pytest.raises(config.ConfigError) as info:
        experiment.prepare(config.from_dict(raw, "c.toml", str(tmp_path)))
    assert info.value.key == "data.fingerprint" and right[:8] in str(info.value) and "\n" not in str(info.value)


def test_a_bundled_tables_features_pick_its_columns():
    from deepbasics.runs import experiment
    cfg = config.from_dict({"data": {"name": "iris", "features": ["petal width (cm)", "petal length (cm)"]}}, "c")
    prepared = experiment.prepare(cfg)
    assert prepared.dataset.feature_names == ("petal width (cm)", "petal length (cm)") and prepared.X.shape == (150, 2)
    bad = config.from_dict({"data": {"name": "iris", "features": ["petals"]}}, "c")
    with pytest.raises(config.ConfigError) as info:
        experiment.prepare(bad)
    assert info.value.key == "data.features" and "sepal length (cm)" in str(info.value)
