import numpy as np
import pandas as pd
import pytest
import torch

from trainer.config import LossConfig
from trainer.losses import combined_loss, day_loss, quantile_loss, soft_rank
from trainer.metrics import average_ranks, day_metrics, hit_rate, ic, long_short_return, rank_ic


def spearman_reference(a, b):
    return pd.Series(a).rank().corr(pd.Series(b).rank())


@pytest.mark.parametrize("seed", range(5))
def test_rank_ic_matches_reference_spearman_with_ties(seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 6, 40).astype(float)  # many ties
    b = a + rng.integers(0, 4, 40)
    assert rank_ic(torch.tensor(a), torch.tensor(b)).item() == pytest.approx(
        spearman_reference(a, b), abs=1e-12
    )
    c = rng.standard_normal(40)
    d = c + rng.standard_normal(40)
    assert rank_ic(torch.tensor(c, dtype=torch.float32), torch.tensor(d)).item() == pytest.approx(
        spearman_reference(c, d), abs=1e-6
    )
    assert ic(torch.tensor(c), torch.tensor(d)).item() == pytest.approx(
        np.corrcoef(c, d)[0, 1], abs=1e-12
    )


def test_average_ranks_match_pandas():
    x = torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0, -1.0])
    np.testing.assert_allclose(average_ranks(x).numpy(), pd.Series(x.numpy()).rank().to_numpy())


def test_nan_targets_are_dropped_and_degenerate_is_zero():
    p = torch.tensor([1.0, 2.0, 3.0, 4.0])
    t = torch.tensor([1.0, float("nan"), 3.0, 5.0])
    assert rank_ic(p, t).item() == pytest.approx(1.0)
    assert rank_ic(torch.ones(4), torch.arange(4.0)).item() == 0.0


def test_long_short_and_hit_rate():
    p = torch.arange(10.0)
    t = torch.arange(10.0) * 0.01
    assert long_short_return(p, t, 0.2).item() == pytest.approx(0.085 - 0.005)
    assert hit_rate(p, t).item() == 1.0
    m = day_metrics(torch.stack([p, -p], 1), torch.stack([t, t], 1))
    assert m.shape == (2, 4)
    assert m[0, 1].item() == pytest.approx(1.0) and m[1, 1].item() == pytest.approx(-1.0)


def test_quantile_loss_matches_definition():
    q = [0.1, 0.5, 0.9]
    pred = torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    y = torch.tensor([1.5, 0.0])
    ref = np.mean([0.1 * 1.5, 0.5 * 0.5, 0.1 * 0.5, 0.9 * 1.0, 0.5 * 1.0, 0.1 * 1.0])
    assert quantile_loss(pred, y, q).item() == pytest.approx(ref)
    y_nan = torch.tensor([1.5, float("nan")])
    assert quantile_loss(pred, y_nan, q).item() == pytest.approx(np.mean([0.15, 0.25, 0.05]))


def test_soft_rank_approaches_ranks():
    x = torch.tensor([0.3, -1.0, 2.0, 0.1])
    np.testing.assert_allclose(soft_rank(x, 1e-3).numpy(), average_ranks(x).numpy(), atol=1e-3)


def test_day_loss_rewards_correct_ordering():
    torch.manual_seed(0)
    y = torch.randn(50, 2)
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    offsets = torch.tensor([-1.6, -0.7, 0.0, 0.7, 1.6])
    good = y.unsqueeze(-1) + offsets
    bad = -y.unsqueeze(-1) + offsets
    cfg = LossConfig(horizon_weights=[1.0, 1.0])
    assert combined_loss(good, y, q, cfg) < combined_loss(bad, y, q, cfg)
    total, _pin = day_loss(good.requires_grad_(), y, q, cfg)
    total.backward()
    assert torch.isfinite(good.grad).all()
    # horizon weights: a zero-weighted horizon does not matter
    cfg0 = LossConfig(horizon_weights=[1.0, 0.0])
    mixed = torch.stack([good[:, 0], bad[:, 1]], 1).detach()
    assert combined_loss(mixed, y, q, cfg0).item() == pytest.approx(
        combined_loss(good.detach(), y, q, cfg0).item()
    )
