import numpy as np
import torch
from marketlab.dataset import DayWindows
from marketlab.train import latest_scores, make_model, mean_rank_ic, predict, train_epoch


def _dataset() -> DayWindows:
    rng = np.random.default_rng(0)
    days, n, f = 30, 8, 4
    return DayWindows(
        rng.standard_normal((days, n, f)).astype(np.float32),
        rng.standard_normal((days, n, 4)).astype(np.float32) * 0.01,
        rng.standard_normal((days, n)).astype(np.float32) * 0.01,
        np.arange(n) % 2,
        days=[19, 20, 21],
        window=20,
    )


def test_a_training_epoch_updates_the_model():
    data = _dataset()
    model = make_model(n_features=4, hidden=8)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = train_epoch(model, data, optimizer)
    assert isinstance(loss, float) and np.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_predictions_line_up_with_targets():
    data = _dataset()
    model = make_model(n_features=4, hidden=8)
    preds, targets = predict(model, data)
    assert preds.shape == targets.shape == (3 * 8,)
    assert torch.equal(targets[:8], data.targets[19][:, 0])
    assert -1.0 <= mean_rank_ic(preds, targets, 8) <= 1.0


def test_latest_scores_are_the_last_days_median_predictions_by_code():
    data = _dataset()
    model = make_model(n_features=4, hidden=8)
    codes = [f"S{i}" for i in range(8)]
    scores = latest_scores(model, data, codes)
    preds, _ = predict(model, data)
    assert list(scores) == codes
    assert all(type(value) is float for value in scores.values())
    assert list(scores.values()) == preds[-8:].tolist()
