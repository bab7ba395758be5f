"""A short, seeded training run; prints one JSON line of metrics.

    python smoke.py

loss (last epoch's mean training loss) and rank_ic (validation RankIC) must
not move when the code is only made faster; samples_per_s and wall_s are
reported for speed.
"""

from __future__ import annotations

import json
import time

import torch
from marketlab import prep
from marketlab.dataset import DayWindows
from marketlab.train import latest_scores, make_model, mean_rank_ic, predict, train_epoch

EPOCHS = 2
WINDOW = 20


def main() -> None:
    started = time.perf_counter()
    torch.set_num_threads(1)
    market = prep.load_market(n_stocks=32, n_days=80, seed=0)
    stocks = prep.stock_table(market)
    features, targets, returns = prep.to_arrays(market, stocks)
    sectors = prep.sector_ids(stocks)
    last_day = features.shape[0] - 21  # the 20-day targets need 20 future days
    days = list(range(WINDOW - 1, last_day))
    split = int(len(days) * 0.75)
    train = DayWindows(features, targets, returns, sectors, days[:split], window=WINDOW, cache_size=32)
    valid = DayWindows(features, targets, returns, sectors, days[split:], window=WINDOW, cache_size=32)
    model = make_model(features.shape[2])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    train_started = time.perf_counter()
    loss = 0.0
    for _ in range(EPOCHS):
        loss = train_epoch(model, train, optimizer)
    train_s = time.perf_counter() - train_started
    preds, truth = predict(model, valid)
    scores = latest_scores(model, valid, stocks["code"].tolist())
    metrics = {
        "loss": round(loss, 6),
        "rank_ic": round(mean_rank_ic(preds, truth, features.shape[1]), 6),
        "mean_score": round(sum(scores.values()) / len(scores), 6),
        "samples_per_s": round(EPOCHS * len(train) * features.shape[1] / train_s, 1),
        "wall_s": round(time.perf_counter() - started, 3),
    }
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
