import polars as pl
import pytest
import torch

from trainer.config import load_config
from trainer.synth import SynthConfig, generate_panel


@pytest.fixture(autouse=True)
def _one_thread():
    # The suite runs on two cores next to other work: one thread keeps timings
    # stable and results independent of the machine's core count.
    torch.set_num_threads(1)
    yield


@pytest.fixture
def tiny_cfg():
    return load_config("tiny", [])


@pytest.fixture(scope="session")
def tiny_panel_df() -> pl.DataFrame:
    cfg = load_config("tiny", [])
    return generate_panel(cfg.synth)


@pytest.fixture(scope="session")
def tiny_panel_path(tmp_path_factory, tiny_panel_df):
    path = tmp_path_factory.mktemp("panel") / "panel.parquet"
    tiny_panel_df.write_parquet(path)
    return path


@pytest.fixture
def small_synth() -> SynthConfig:
    return SynthConfig(n_stocks=12, n_sectors=3, n_days=80, n_noise=2, seed=3)
