"""The smoke run: a short seeded training run on the synthetic market that prints
its losses, metrics, throughput and memory as one flat JSON object."""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trainer.config import load_config
from trainer.synth import write_panel
from trainer.train import fit


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def run_smoke(
    data: str | Path | None = None,
    out: str | Path | None = None,
    overrides: list[str] | None = None,
    preset: str = "smoke",
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train the ``smoke`` preset and return flat metrics.

    Args:
        data: a Parquet panel; None generates the synthetic market (preset's
            ``synth`` section) into a temporary folder and reads it back.
        out: folder for checkpoints and ``metrics.jsonl``; None uses a temporary one.
        overrides: ``section.field=value`` items applied over the preset.

    Returns:
        ``val_rank_ic_{h}d``, ``val_ic_{h}d`` (and the other validation metrics) of the
        best epoch, ``train_loss``, ``samples_per_s``, ``peak_rss_mb``, ``wall_s``.
    """
    t0 = time.perf_counter()
    cfg = load_config(preset, overrides or [])
    with tempfile.TemporaryDirectory(prefix="atft-smoke-") as tmp:
        if data is None and cfg.data.path is None:
            data = write_panel(cfg.synth, Path(tmp) / "panel.parquet")
        out_dir = Path(out) if out is not None else Path(tmp) / "run"
        result = fit(cfg, data=data, out_dir=out_dir, log=log)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["wall_s"] = round(time.perf_counter() - t0, 2)
    return result
