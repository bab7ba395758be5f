"""Day windows for training: features of the last ``window`` days, next-day targets
and the day's correlation graph, built on demand and kept in a small cache."""

from __future__ import annotations

import numpy as np
import torch

from trainer.graph import build_correlation_graph


class DayWindows:
    """Item ``i`` is day ``days[i]``: ``(x [N, T, F], y [N, H], edge_index, edge_attr)``.

    Building an item slices the arrays and builds the graph from the last
    ``graph_lookback`` days of returns; the ``cache_size`` most recently built
    items are kept, the oldest evicted first.
    """

    def __init__(
        self,
        features: np.ndarray,
        targets: np.ndarray,
        returns: np.ndarray,
        sectors: np.ndarray,
        days: list[int],
        window: int = 20,
        graph_lookback: int = 20,
        cache_size: int = 64,
    ) -> None:
        self.features = torch.from_numpy(features)
        self.targets = torch.from_numpy(targets)
        self.returns = torch.from_numpy(returns)
        self.sectors = torch.from_numpy(sectors)
        self.days = list(days)
        self.window = window
        self.graph_lookback = graph_lookback
        self.cache_size = cache_size
        self._cache = {}
        self._keys = []
        self.builds = 0

    def __len__(self) -> int:
        return len(self.days)

    def _build(self, day: int):
        self.builds += 1
        x = self.features[day - self.window + 1 : day + 1].permute(1, 0, 2).contiguous()
        y = self.targets[day]
        past = self.returns[max(0, day - self.graph_lookback + 1) : day + 1].T
        edge_index, edge_attr = build_correlation_graph(past, self.sectors, k=8, min_k=3)
        return x, y, edge_index, edge_attr

    def __getitem__(self, index: int):
        day = self.days[index]
        if day in self._cache:
            return self._cache[day]
        item = self._build(day)
        self._cache[day] = item
        self._keys.append(day)
        if len(self._keys) > self.cache_size:
            old = self._keys.pop(0)
            del self._cache[old]
        return item
