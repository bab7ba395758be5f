"""The names other code imports stay where trainer/__init__.py documents them."""

import inspect

import torch

import trainer
from trainer.config import ModelConfig, TrainConfig, load_config
from trainer.graph import build_correlation_graph
from trainer.losses import combined_loss, quantile_loss
from trainer.metrics import ic, rank_ic
from trainer.model import ATFTGATFAN
from trainer.smoke import run_smoke
from trainer.synth import SynthConfig, generate_panel, write_panel


def test_public_signatures():
    assert list(inspect.signature(load_config).parameters) == ["preset_name_or_path", "overrides"]
    assert list(inspect.signature(ATFTGATFAN.forward).parameters) == [
        "self",
        "x",
        "edge_index",
        "edge_attr",
    ]
    assert list(inspect.signature(build_correlation_graph).parameters) == [
        "returns",
        "sectors",
        "k",
        "threshold",
        "min_k",
    ]
    assert {"n_stocks", "n_sectors", "n_days", "seed"} <= set(
        inspect.signature(SynthConfig).parameters
    )
    for fn in (generate_panel, write_panel, quantile_loss, combined_loss, rank_ic, ic, run_smoke):
        assert fn.__doc__
    assert ModelConfig().hidden == 64 and TrainConfig().seed == 0
    for name in (
        "SynthConfig",
        "generate_panel",
        "ATFTGATFAN",
        "build_correlation_graph",
        "run_smoke",
    ):
        assert name in trainer.__doc__


def test_model_forward_contract():
    cfg = ModelConfig(hidden=16, vsn_hidden=4, heads=2)
    model = ATFTGATFAN(cfg, n_features=6).eval()
    out = model(torch.randn(5, 20, 6), None, None)
    assert out.shape == (5, 4, 5)
