"""The training loop: one day (cross-section) per sample group, AdamW, warm-up +
cosine, clipping, bf16 autocast on CUDA, early stopping on validation RankIC,
atomic resumable checkpoints, and DistributedDataParallel under ``torchrun``.

Data parallelism: every optimiser step takes the same group of
``train.days_per_step`` days in every run. Under ``torchrun`` with W processes,
rank r takes days ``group[r::W]`` and scales its summed day losses by
``W / days_per_step``, so DDP's gradient average equals the single-process mean
over the group. Validation days are sharded the same way and per-day metric
sums are all-reduced. With dropout 0 a W-process run therefore matches a
one-process run up to float summation order.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from trainer.config import Config, config_from_dict
from trainer.data import DeviceData, Panel, Split, describe, load_for_config, make_split
from trainer.errors import ConfigError, TrainerError
from trainer.graph import build_correlation_graph
from trainer.losses import day_loss
from trainer.metrics import day_metrics, summarise
from trainer.model import ATFTGATFAN


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name} but CUDA is not available on this machine.")
    return torch.device(name)


def setup_runtime(cfg: Config) -> Runtime:
    """Initialise torch.distributed when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(cfg.train.device)
    if world > 1:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            device = torch.device("cuda", local)
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return Runtime(device=device, rank=dist.get_rank(), world=dist.get_world_size())
    return Runtime(device=device)


def lr_lambda(total_steps: int, warmup: int, min_ratio: float) -> Callable[[int], float]:
    def f(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return f


def atomic_save(obj: Any, path: Path) -> None:
    """Write to a temporary file in the same folder, then ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Trainer:
    """Owns the model, optimiser, schedule and data of one run."""

    def __init__(
        self,
        cfg: Config,
        panel: Panel,
        split: Split,
        out_dir: str | Path | None = None,
        runtime: Runtime | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.cfg = cfg
        self.rt = runtime or Runtime(device=resolve_device(cfg.train.device))
        self.out_dir = Path(out_dir) if out_dir else None
        self.log = log if log is not None else (lambda s: print(s, flush=True))
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        if cfg.train.deterministic and self.rt.device.type == "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.panel, self.split = panel, split
        self.data = DeviceData(panel, cfg.data.window, self.rt.device)
        self.horizons = list(cfg.data.horizons)
        self.quantiles = list(cfg.model.quantiles)
        self.use_bf16 = self.rt.device.type == "cuda" and cfg.train.precision in ("auto", "bf16")
        if cfg.train.precision == "bf16" and self.rt.device.type != "cuda":
            raise ConfigError("train.precision=bf16 needs a CUDA device; use auto or fp32 on CPU.")

        g = cfg.train.days_per_step
        if g % self.rt.world:
            raise ConfigError(
                f"train.days_per_step={g} must be divisible by the number of processes ({self.rt.world})."
            )
        n_train = split.train_days.size
        self.group = min(g, n_train - n_train % self.rt.world) if n_train < g else g
        if self.group < self.rt.world:
            raise TrainerError(f"only {n_train} training days for {self.rt.world} processes.")
        self.steps_per_epoch = n_train // self.group
        self.total_steps = self.steps_per_epoch * cfg.train.epochs

        torch.manual_seed(cfg.train.seed)
        self.model = ATFTGATFAN(cfg.model, panel.features.shape[2], len(self.horizons)).to(
            self.rt.device
        )
        self.module: torch.nn.Module = self.model
        if cfg.train.compile:
            self.model.encoder.forward = torch.compile(self.model.encoder.forward, dynamic=True)
        if self.rt.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.rt.device.index] if self.rt.device.type == "cuda" else None
            self.module = DDP(self.model, device_ids=ids)
        torch.manual_seed(cfg.train.seed + 1 + self.rt.rank)  # dropout stream per rank
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            (decay if p.ndim >= 2 and "ln_" not in name else no_decay).append(p)
        self.optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": cfg.train.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=cfg.train.lr,
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lr_lambda(self.total_steps, cfg.train.warmup_steps, cfg.train.min_lr_ratio),
        )
        self.step = 0
        self.epoch = 0  # completed epochs
        self.best_metric = -float("inf")
        self.best_epoch = 0
        self.bad_epochs = 0
        self.history: list[dict[str, Any]] = []
        self.best_state: dict[str, torch.Tensor] | None = None
        self._graphs: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.train_time = 0.0
        self.train_samples = 0

    # -- batches ------------------------------------------------------------

    def graph_for(self, t: int, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if t in self._graphs:
            return self._graphs[t]
        gc = self.cfg.graph
        ret = self.data.returns_history(t, idx, gc.lookback)
        out = build_correlation_graph(ret, self.data.sectors[idx], gc.k, gc.threshold, gc.min_k)
        if gc.cache:
            self._graphs[t] = out
        return out

    def batch(
        self, days
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None, torch.Tensor, list[int]]:
        """Stack the windows of ``days`` into one node set with a block-diagonal graph."""
        xs, ys, eis, eas, sizes = [], [], [], [], []
        offset = 0
        for t in days:
            t = int(t)
            idx = self.data.stocks(t)
            xs.append(self.data.windows(t, idx))
            ys.append(self.data.targets[t].index_select(0, idx))
            if self.cfg.model.use_gat:
                ei, ea = self.graph_for(t, idx)
                eis.append(ei + offset)
                eas.append(ea)
            sizes.append(idx.numel())
            offset += idx.numel()
        x = torch.cat(xs)
        y = torch.cat(ys)
        if self.cfg.model.use_gat:
            return x, torch.cat(eis, 1), torch.cat(eas), y, sizes
        return x, None, None, y, sizes

    def autocast(self):
        if self.use_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- training -----------------------------------------------------------

    def train_epoch(self) -> float:
        cfg = self.cfg
        self.module.train()
        rng = np.random.default_rng(cfg.train.seed * 100_003 + self.epoch)
        days = rng.permutation(self.split.train_days)
        total, count = 0.0, 0
        t0 = time.perf_counter()
        bar = _progress(
            range(self.steps_per_epoch), f"epoch {self.epoch + 1}", self.rt, cfg.train.progress
        )
        for s in bar:
            group = days[s * self.group : (s + 1) * self.group]
            mine = group[self.rt.rank :: self.rt.world]
            x, ei, ea, y, sizes = self.batch(mine)
            with self.autocast():
                pred = self.module(x, ei, ea)
            pred = pred.float()
            losses = [
                day_loss(p, t, self.quantiles, cfg.loss)[0]
                for p, t in zip(pred.split(sizes), y.split(sizes))
            ]
            loss = torch.stack(losses).sum() * (self.rt.world / len(group))
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.train.grad_clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.train.grad_clip)
            self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            self.train_samples += x.shape[0]
            step_loss = loss.detach()
            if self.rt.distributed:
                dist.all_reduce(step_loss)
                step_loss = step_loss / self.rt.world
            total += float(step_loss)
            count += 1
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{total / count:.4f}")
        self.train_time += time.perf_counter() - t0
        return total / max(count, 1)

    @torch.no_grad()
    def evaluate(self, days=None, chunk: int = 8) -> dict[str, float]:
        """Per-day metrics on ``days`` (default: validation days), averaged over days."""
        days = self.split.val_days if days is None else np.asarray(days)
        mine = days[self.rt.rank :: self.rt.world]
        self.module.eval()
        nh = len(self.horizons)
        sums = torch.zeros((nh, 4), dtype=torch.float64, device=self.rt.device)
        sq_ls = torch.zeros(nh, dtype=torch.float64, device=self.rt.device)
        counts = torch.zeros(nh, dtype=torch.float64, device=self.rt.device)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.rt.device)
        mid = self.quantiles.index(0.5)
        for i in range(0, len(mine), chunk):
            x, ei, ea, y, sizes = self.batch(mine[i : i + chunk])
            with self.autocast():
                pred = self.model(x, ei, ea)  # the bare model: no DDP sync in evaluation
            pred = pred.float()
            for p, t in zip(pred.split(sizes), y.split(sizes)):
                m = day_metrics(p[:, :, mid], t)
                ok = torch.isfinite(m[:, 0])
                m = torch.where(ok.unsqueeze(1), m, torch.zeros_like(m))
                sums += m
                sq_ls += m[:, 2] ** 2
                counts += ok.double()
                loss_sum += day_loss(p, t, self.quantiles, self.cfg.loss)[0].double()
        n_days = torch.tensor(float(len(mine)), dtype=torch.float64, device=self.rt.device)
        if self.rt.distributed:
            for t in (sums, sq_ls, counts, loss_sum, n_days):
                dist.all_reduce(t)
        out = summarise(sums.cpu(), sq_ls.cpu(), counts.cpu(), self.horizons)
        out["loss"] = float(loss_sum / n_days.clamp_min(1))
        return out

    # -- checkpoints --------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "best_metric": self.best_metric,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "best_state": self.best_state,
            "history": self.history,
            "rng": _rng_state(),
            "config": self.cfg.to_dict(),
            "feature_names": self.panel.feature_names,
            "train_time": self.train_time,
            "train_samples": self.train_samples,
        }

    def save(self, name: str) -> Path | None:
        if self.out_dir is None or not self.rt.main:
            return None
        path = self.out_dir / name
        atomic_save(self.state(), path)
        return path

    def load(self, path: str | Path) -> None:
        ck = load_checkpoint(path)
        if ck["feature_names"] != self.panel.feature_names:
            raise TrainerError(f"checkpoint {str(path)!r} was trained on other feature columns.")
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        for key in (
            "step",
            "epoch",
            "best_metric",
            "best_epoch",
            "bad_epochs",
            "best_state",
            "history",
            "train_time",
            "train_samples",
        ):
            setattr(self, key, ck[key])
        _set_rng_state(ck["rng"])

    # -- the loop -------------------------------------------------------------

    def fit(self, stop_after_epoch: int | None = None) -> dict[str, Any]:
        """Train until ``train.epochs`` or early stopping; returns the summary dict.

        ``stop_after_epoch`` ends the run early after that epoch (as if it had
        been interrupted), leaving ``last.pt`` to resume from.
        """
        cfg = self.cfg
        if self.rt.main:
            self.log(describe(self.panel, self.split) + f"; {self.steps_per_epoch} steps/epoch")
        stopped = False
        while self.epoch < cfg.train.epochs and not stopped:
            t0 = time.perf_counter()
            train_loss = self.train_epoch()
            self.epoch += 1
            val = self.evaluate()
            metric = val[cfg.train.early_stop_metric]
            improved = (
                bool(metric > self.best_metric) or self.best_state is None
            )  # NaN never improves
            if improved:
                self.best_metric, self.best_epoch, self.bad_epochs = metric, self.epoch, 0
                self.best_state = copy.deepcopy(self.model.state_dict())
            else:
                self.bad_epochs += 1
            record = {
                "epoch": self.epoch,
                "step": self.step,
                "lr": self.scheduler.get_last_lr()[0],
                "train_loss": train_loss,
                **{f"val_{k}": v for k, v in val.items()},
                "epoch_s": time.perf_counter() - t0,
            }
            self.history.append(record)
            if self.rt.main:
                self.log(_epoch_line(record, self.horizons, cfg.train.epochs))
                if self.out_dir is not None:
                    self.out_dir.mkdir(parents=True, exist_ok=True)
                    with open(self.out_dir / "metrics.jsonl", "a") as fh:
                        fh.write(json.dumps(record) + "\n")
            if cfg.train.patience and self.bad_epochs >= cfg.train.patience:
                stopped = True
            if improved:
                self.save("best.pt")
            if (
                self.epoch % cfg.train.checkpoint_every == 0
                or stopped
                or self.epoch == cfg.train.epochs
            ):
                self.save("last.pt")
            if stop_after_epoch is not None and self.epoch >= stop_after_epoch:
                return self.summary(final=False)
        return self.summary(final=True)

    def summary(self, final: bool = True) -> dict[str, Any]:
        if final and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        best = next((r for r in self.history if r["epoch"] == self.best_epoch), self.history[-1])
        out = {k: v for k, v in best.items() if k.startswith("val_")}
        out.update(
            train_loss=self.history[-1]["train_loss"],
            best_epoch=self.best_epoch,
            epochs_run=self.epoch,
            steps=self.step,
            samples_per_s=self.train_samples / self.train_time if self.train_time else 0.0,
        )
        return out


def _epoch_line(r: dict[str, Any], horizons: list[int], epochs: int) -> str:
    ric = " ".join(f"{h}d {r[f'val_rank_ic_{h}d']:+.4f}" for h in horizons)
    return (
        f"epoch {r['epoch']}/{epochs} | train_loss {r['train_loss']:.4f} | val_loss "
        f"{r['val_loss']:.4f} | val RankIC {ric} | IC 1d {r.get('val_ic_1d', float('nan')):+.4f} "
        f"| {r['epoch_s']:.1f}s"
    )


def _progress(it, desc: str, rt: Runtime, enabled: bool):
    if not enabled or not rt.main:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, desc=desc, leave=False, disable=None, file=sys.stderr)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise TrainerError(f"checkpoint {str(path)!r} does not exist.")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - unpickling can fail in many ways
        raise TrainerError(
            f"could not read checkpoint {str(path)!r} ({type(exc).__name__})."
        ) from None


def fit(
    cfg: Config,
    data: Any = None,
    out_dir: str | Path | None = None,
    resume: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    stop_after_epoch: int | None = None,
) -> dict[str, Any]:
    """Load data (``data`` path/DataFrame, else ``cfg.data.path``, else synthetic), train, summarise."""
    rt = setup_runtime(cfg)
    panel = load_for_config(cfg, data)
    split = make_split(panel, cfg.data)
    trainer = Trainer(cfg, panel, split, out_dir, rt, log)
    if resume:
        trainer.load(resume)
    return trainer.fit(stop_after_epoch=stop_after_epoch)


def evaluate_checkpoint(
    path: str | Path, data: Any = None, use_best: bool = True
) -> dict[str, Any]:
    """Rebuild a run from its checkpoint and evaluate it on its validation days."""
    ck = load_checkpoint(path)
    cfg = config_from_dict(ck["config"])
    rt = setup_runtime(cfg)
    panel = load_for_config(cfg, data)
    split = make_split(panel, cfg.data)
    trainer = Trainer(cfg, panel, split, None, rt, log=lambda s: None)
    if ck["feature_names"] != panel.feature_names:
        raise TrainerError(f"checkpoint {str(path)!r} was trained on other feature columns.")
    state = ck["best_state"] if use_best and ck.get("best_state") is not None else ck["model"]
    trainer.model.load_state_dict(state)
    out = {f"val_{k}": v for k, v in trainer.evaluate().items()}
    out["epoch"] = ck["epoch"]
    return out
