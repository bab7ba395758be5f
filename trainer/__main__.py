"""Command line: ``python -m trainer {synth,fit,evaluate,smoke}`` (also ``atft``).

Config overrides are ``section.field=value`` items, positional or after ``--set``.
Errors a user can cause end with one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

# A training step is many small tensor ops. With OpenMP's default busy-waiting,
# two threads on two shared cores can run 10x slower than one when other
# processes compete for the cores; passive waiting avoids that collapse. It
# must be set before torch loads libgomp, so here, before any torch import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from trainer.errors import TrainerError


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, float):
        return round(obj, 6)
    return obj


def _print_json(d: dict) -> None:
    print(json.dumps({k: _clean(v) for k, v in d.items()}), flush=True)


def _overrides(args) -> list[str]:
    return [*(args.set or []), *(args.overrides or [])]


def cmd_synth(args) -> int:
    from trainer.config import load_config
    from trainer.synth import write_panel

    cfg = load_config(args.preset, _overrides(args))
    path = write_panel(cfg.synth, args.out)
    print(f"wrote {path} ({cfg.synth.n_stocks} stocks x {cfg.synth.n_days} days)")
    return 0


def cmd_fit(args) -> int:
    from trainer.config import load_config
    from trainer.train import fit

    cfg = load_config(args.preset, _overrides(args))
    resume = args.resume
    if resume == "auto":
        from pathlib import Path

        last = Path(args.out) / "last.pt"
        resume = str(last) if last.is_file() else None
    result = fit(cfg, data=args.data, out_dir=args.out, resume=resume)
    if _is_main():
        _print_json(result)
    return 0


def cmd_evaluate(args) -> int:
    from trainer.train import evaluate_checkpoint

    result = evaluate_checkpoint(args.checkpoint, data=args.data, use_best=not args.last)
    if _is_main():
        _print_json(result)
    return 0


def cmd_smoke(args) -> int:
    from trainer.smoke import run_smoke

    result = run_smoke(data=args.data, out=args.out, overrides=_overrides(args), preset=args.preset)
    if _is_main():
        _print_json(result)
    return 0


def _is_main() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="atft", description="ATFT-GAT-FAN trainer.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, preset: str):
        sp.add_argument(
            "--preset", default=preset, help=f"preset name or YAML path (default {preset})"
        )
        sp.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override")
        sp.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")

    sp = sub.add_parser("synth", help="write the synthetic market as a Parquet panel")
    sp.add_argument("--out", required=True, help="Parquet file to write")
    common(sp, "default")
    sp.set_defaults(func=cmd_synth)

    sp = sub.add_parser("fit", help="train a model")
    sp.add_argument("--data", help="Parquet panel (default: data.path or the synthetic market)")
    sp.add_argument("--out", default="runs/atft", help="folder for checkpoints and metrics.jsonl")
    sp.add_argument(
        "--resume", nargs="?", const="auto", help="checkpoint to resume (default OUT/last.pt)"
    )
    common(sp, "default")
    sp.set_defaults(func=cmd_fit)

    sp = sub.add_parser("evaluate", help="validation metrics of a checkpoint")
    sp.add_argument("--checkpoint", required=True, help="best.pt or last.pt of a run")
    sp.add_argument("--data", help="Parquet panel (default: the run's data)")
    sp.add_argument("--last", action="store_true", help="use the last weights, not the best")
    sp.set_defaults(func=cmd_evaluate)

    sp = sub.add_parser("smoke", help="short seeded run that prints one JSON line of metrics")
    sp.add_argument("--data", help="Parquet panel (default: generate the synthetic market)")
    sp.add_argument("--out", help="folder for checkpoints and metrics (default: temporary)")
    common(sp, "smoke")
    sp.set_defaults(func=cmd_smoke)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TrainerError as exc:
        msg = str(exc).strip()
        print(f"error: {msg[0].lower() + msg[1:] if msg else type(exc).__name__}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable --out, a folder where a file was expected, ...
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
