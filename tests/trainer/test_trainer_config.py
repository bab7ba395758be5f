import dataclasses

import pytest

from trainer.config import (
    Config,
    DataConfig,
    GraphConfig,
    LossConfig,
    ModelConfig,
    TrainConfig,
    available_presets,
    field_docs,
    load_config,
    parse_override,
)
from trainer.errors import ConfigError
from trainer.synth import SynthConfig


@pytest.mark.parametrize("name", ["default", "smoke", "tiny"])
def test_required_presets_exist(name):
    assert name in available_presets()


@pytest.mark.parametrize("name", available_presets())
def test_every_preset_validates_against_the_schema(name):
    cfg = load_config(name, [])
    assert isinstance(cfg, Config)
    # Round trip through a plain dict, as checkpoints do.
    from trainer.config import config_from_dict

    assert config_from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize(
    "cls", [Config, DataConfig, GraphConfig, ModelConfig, LossConfig, TrainConfig, SynthConfig]
)
def test_every_field_has_a_docstring(cls):
    docs = field_docs(cls)
    missing = [f.name for f in dataclasses.fields(cls) if not docs.get(f.name)]
    assert not missing


def test_overrides_with_and_without_set():
    cfg = load_config("tiny", ["model.hidden=32", "train.lr=1e-3"])
    assert cfg.model.hidden == 32 and cfg.train.lr == 1e-3
    assert parse_override("--data.horizons=[1, 5]") == ("data.horizons", [1, 5])
    assert parse_override("data.path=null") == ("data.path", None)


@pytest.mark.parametrize(
    "override, key",
    [("model.hiden=3", "model.hiden"), ("modle.hidden=3", "modle"), ("train.lr.x=1", "train.lr.x")],
)
def test_unknown_override_key_is_named(override, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        load_config("tiny", [override])


def test_unknown_key_in_yaml_is_named(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("model:\n  hidden: 32\n  dropuot: 0.1\n")
    with pytest.raises(ConfigError, match="'model.dropuot'"):
        load_config(p, [])


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("model.hidden=30", "divide"),
        ("data.embargo=5", "embargo"),
        ("model.quantiles=[0.1, 0.9]", "0.5"),
        ("loss.horizon_weights=[1.0]", "horizon_weights"),
        ("train.epochs=0", "epochs"),
        ("model.hidden=abc", "integer"),
        ("data.norm=minmax", "norm"),
    ],
)
def test_bad_values_are_rejected(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_config("tiny", [override])


def test_unknown_preset():
    with pytest.raises(ConfigError, match="unknown preset"):
        load_config("nope", [])
