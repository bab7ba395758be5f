import numpy as np
import torch
from marketlab.dataset import DayWindows


def _dataset(cache_size: int) -> DayWindows:
    rng = np.random.default_rng(0)
    days, n, f = 40, 6, 3
    return DayWindows(
        rng.standard_normal((days, n, f)).astype(np.float32),
        rng.standard_normal((days, n, 4)).astype(np.float32),
        rng.standard_normal((days, n)).astype(np.float32),
        np.array([0, 1, 0, 1, 2, 2]),
        days=list(range(9, 40)),
        window=10,
        cache_size=cache_size,
    )


def test_item_shapes():
    x, y, edge_index, edge_attr = _dataset(4)[0]
    assert x.shape == (6, 10, 3)
    assert y.shape == (6, 4)
    assert edge_index.shape[0] == 2 and edge_attr.shape == (edge_index.shape[1], 3)


def test_window_ends_on_its_day():
    data = _dataset(4)
    x, *_ = data[3]
    assert torch.equal(x[:, -1], data.features[12])


def test_cache_returns_the_same_item_without_rebuilding():
    data = _dataset(4)
    first = data[2]
    assert data[2] is first
    assert data.builds == 1


def test_cache_evicts_the_oldest_item_first():
    data = _dataset(3)
    for i in range(4):  # the fourth build evicts item 0
        data[i]
    assert data.builds == 4
    data[3]
    data[1]
    assert data.builds == 4  # still cached
    data[0]
    assert data.builds == 5  # evicted, built again
