"""Time one full training step of the ATFT-GAT-FAN model on one day of stocks.

A step is forward, loss, backward, gradient clipping and the AdamW update, on
random features for N stocks with a T-day window and a correlation graph built
from random returns. Prints the median over repeats (warm-up excluded).

    python bench/trainer_step.py --stocks 256 --features 82 --hidden 256 --threads 1 --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see trainer/__main__.py

import torch

from trainer.config import LossConfig, ModelConfig
from trainer.graph import build_correlation_graph
from trainer.losses import day_loss
from trainer.model import ATFTGATFAN


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--stocks", type=int, default=256)
    p.add_argument("--features", type=int, default=82)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument(
        "--vsn-hidden", type=int, default=16, help="per-feature GRN width (model.vsn_hidden)"
    )
    p.add_argument("--window", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--no-gat", action="store_true")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    heads = 4 if args.hidden % 4 == 0 else 1
    cfg = ModelConfig(
        hidden=args.hidden, vsn_hidden=args.vsn_hidden, heads=heads, use_gat=not args.no_gat
    )
    model = ATFTGATFAN(cfg, args.features, n_horizons=4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(args.stocks, args.window, args.features)
    y = torch.randn(args.stocks, 4) * 0.02
    ei, ea = build_correlation_graph(
        torch.randn(args.stocks, 60), torch.arange(args.stocks) % 8, 15, 0.3, 5
    )
    loss_cfg = LossConfig()

    def step() -> tuple[float, float]:
        t0 = time.perf_counter()
        c0 = time.process_time()
        pred = model(x, ei, ea)
        loss = day_loss(pred, y, cfg.quantiles, loss_cfg)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return time.perf_counter() - t0, time.process_time() - c0

    for _ in range(args.warmup):
        step()
    pairs = [step() for _ in range(args.repeats)]
    times = [w for w, _ in pairs]
    result = {
        "step_s": statistics.median(times),
        # CPU time of this process: with one thread it is what the step costs when the
        # machine is not shared, and it is robust to other load on the cores.
        "step_cpu_s": statistics.median(c for _, c in pairs),
        "min_s": min(times),
        "max_s": max(times),
        "stocks": args.stocks,
        "features": args.features,
        "hidden": args.hidden,
        "vsn_hidden": args.vsn_hidden,
        "window": args.window,
        "threads": args.threads,
        "repeats": args.repeats,
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"median step {result['step_s']:.3f} s wall, {result['step_cpu_s']:.3f} s CPU (min {result['min_s']:.3f}, max {result['max_s']:.3f}) "
            f"over {args.repeats} repeats; {result['params']:,} parameters"
        )


if __name__ == "__main__":
    main()
