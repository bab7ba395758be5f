import numpy as np
import pytest
import torch

from trainer.graph import build_correlation_graph, correlation_matrix


def brute_force_graph(
    returns: np.ndarray, sectors: np.ndarray, k: int, threshold: float, min_k: int
):
    n = returns.shape[0]
    rho = np.corrcoef(returns)
    edges = set()
    for i in range(n):
        order = sorted((j for j in range(n) if j != i), key=lambda j: (-abs(rho[i, j]), j))
        for rank, j in enumerate(order[: min(k, n - 1)]):
            if rank < min_k or abs(rho[i, j]) >= threshold:
                edges.add((i, j))
                edges.add((j, i))
    return edges, rho


@pytest.mark.parametrize(
    "seed, n, k, threshold, min_k",
    [(0, 30, 5, 0.2, 2), (1, 12, 4, 0.9, 1), (2, 6, 10, 0.0, 3), (3, 40, 8, 0.3, 0)],
)
def test_graph_matches_brute_force(seed, n, k, threshold, min_k):
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((3, 60))
    load = rng.standard_normal((n, 3))
    returns = load @ factor + rng.standard_normal((n, 60))
    sectors = rng.integers(0, 3, n)
    ei, ea = build_correlation_graph(
        torch.tensor(returns), torch.tensor(sectors), k, threshold, min_k
    )
    got = set(map(tuple, ei.T.tolist()))
    ref, rho = brute_force_graph(returns, sectors, k, threshold, min_k)
    assert got == ref
    assert ei.shape[1] == len(got)  # no duplicate edges
    assert all(i != j for i, j in got)  # no self loops
    assert all((j, i) in got for i, j in got)  # symmetric
    deg = np.bincount(ei[0].numpy(), minlength=n)
    assert (deg >= min(min_k, n - 1)).all()
    src, dst = ei
    np.testing.assert_allclose(ea[:, 0].numpy(), rho[src, dst], atol=1e-5)
    np.testing.assert_allclose(ea[:, 1].numpy(), (sectors[src] == sectors[dst]).astype(float))
    np.testing.assert_allclose(ea[:, 2].numpy(), np.abs(rho[src, dst]), atol=1e-5)


def test_each_selection_is_within_k():
    rng = np.random.default_rng(5)
    returns = torch.tensor(rng.standard_normal((50, 60)))
    k = 4
    ei, _ = build_correlation_graph(returns, torch.zeros(50, dtype=torch.long), k, 0.0, 0)
    rho = correlation_matrix(returns).abs().fill_diagonal_(-1)
    topk = rho.topk(k, dim=1).indices
    sel = torch.zeros(50, 50, dtype=torch.bool).scatter_(1, topk, True)
    for i, j in ei.T.tolist():  # every edge was chosen by one of its ends
        assert sel[i, j] or sel[j, i]


def test_nan_and_constant_returns():
    returns = torch.randn(6, 20)
    returns[0] = 1.0
    returns[1, :5] = float("nan")
    ei, ea = build_correlation_graph(returns, torch.zeros(6, dtype=torch.long), 2, 0.5, 1)
    assert torch.isfinite(ea).all()
    assert (torch.bincount(ei[0], minlength=6) >= 1).all()


def test_single_node():
    ei, ea = build_correlation_graph(
        torch.randn(1, 10), torch.zeros(1, dtype=torch.long), 5, 0.1, 2
    )
    assert ei.shape == (2, 0) and ea.shape == (0, 3)
