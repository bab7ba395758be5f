"""GPU throughput of the default preset: bf16 autocast + torch.compile against eager fp32.

Both runs use the same synthetic panel and split and the same number of epochs;
prints training days per second and peak GPU memory for each. Without a GPU it
says so in one sentence and exits 0.

    python bench/trainer_gpu.py                   # default preset, 2 epochs each
    python bench/trainer_gpu.py --set train.epochs=3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see trainer/__main__.py

import torch


def run(preset: str, overrides: list[str], panel, split) -> dict:
    from trainer.config import load_config
    from trainer.train import Runtime, Trainer

    cfg = load_config(preset, overrides)
    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
    trainer = Trainer(
        cfg, panel, split, None, Runtime(device=torch.device("cuda")), log=lambda s: None
    )
    t0 = time.perf_counter()
    result = trainer.fit()
    torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    train_days = trainer.steps_per_epoch * trainer.group * result["epochs_run"]
    return {
        "days_per_s": train_days / trainer.train_time,
        "train_s": trainer.train_time,
        "wall_s": wall,
        "peak_mem_mb": torch.cuda.max_memory_allocated() / 2**20,
        "val_rank_ic_1d": result["val_rank_ic_1d"],
        "epochs": result["epochs_run"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if not torch.cuda.is_available():
        print("No CUDA GPU is available here, so there is nothing to measure.")
        return 0

    from trainer.config import load_config
    from trainer.data import load_for_config, make_split

    base = ["train.epochs=2", "train.patience=0", "train.progress=false", *args.set]
    cfg = load_config(args.preset, base)
    panel = load_for_config(cfg)
    split = make_split(panel, cfg.data)
    results = {
        "bf16+compile": run(
            args.preset, [*base, "train.precision=bf16", "train.compile=true"], panel, split
        ),
        "fp32 eager": run(
            args.preset, [*base, "train.precision=fp32", "train.compile=false"], panel, split
        ),
    }
    name = torch.cuda.get_device_name()
    print(
        f"{name}, preset {args.preset}, {len(panel.codes)} stocks, {split.train_days.size} train days"
    )
    for mode, r in results.items():
        print(
            f"{mode:>13}: {r['days_per_s']:.1f} train days/s, peak GPU memory {r['peak_mem_mb']:.0f} MiB, "
            f"train {r['train_s']:.1f} s (first epoch includes compilation), val RankIC 1d {r['val_rank_ic_1d']:.3f}"
        )
    if args.json:
        print(json.dumps({"device": name, **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
