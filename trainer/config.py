"""Configuration: a tree of dataclasses with one docstring per field.

Values come from a YAML preset (``trainer/configs/<name>.yaml`` or a path) and
then from command-line overrides ``section.field=value`` (``--set`` optional).
Every key is checked against the schema: an unknown key is a
:class:`~trainer.errors.ConfigError` that names it. Each section validates its
own values in ``__post_init__``; :class:`Config` checks the cross-section rules.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trainer.errors import ConfigError
from trainer.synth import SynthConfig

PRESET_DIR = Path(__file__).with_name("configs")


@dataclass
class DataConfig:
    """Where the panel comes from and how samples and splits are made."""

    path: str | None = None
    """Parquet panel to train on; null generates the synthetic market of ``synth``."""
    features: list[str] = field(default_factory=list)
    """Feature columns to use; empty means every numeric column that is not a target."""
    horizons: list[int] = field(default_factory=lambda: [1, 5, 10, 20])
    """Forward-return horizons in days; the panel needs a ``ret_{h}d`` column for each."""
    window: int = 20
    """Days of history T in one sample window."""
    norm: str = "zscore"
    """Per-date cross-sectional normalisation: ``zscore`` or ``robust`` (median/MAD)."""
    clip: float = 5.0
    """Normalised features are clipped to [-clip, clip]."""
    missing_flags: str = "auto"
    """Missing-value flag columns: ``auto`` (for features with any gap), ``all`` or ``none``."""
    nonfinite: str = "mask"
    """NaN/inf in features: ``mask`` treats them as missing (filled and flagged), ``error`` stops."""
    train_frac: float = 0.7
    """Fraction of sample days before the first validation block (walk-forward)."""
    embargo: int = 20
    """Days left out between the last train day and the first validation day (>= longest horizon)."""
    n_folds: int = 1
    """Walk-forward folds: the days after ``train_frac`` are split into this many validation blocks."""
    fold: int = -1
    """Which fold to train (python index; -1 is the last, with the most training days)."""
    min_stocks: int = 8
    """A day is a sample only if at least this many stocks have a full window."""
    max_val_days: int = 0
    """Use at most this many validation days (0 = all); keeps smoke runs short."""

    def __post_init__(self) -> None:
        if not self.horizons or any(int(h) < 1 for h in self.horizons):
            raise ConfigError("data.horizons must be a non-empty list of positive day counts.")
        if sorted(set(self.horizons)) != list(self.horizons):
            raise ConfigError("data.horizons must be increasing and without repeats.")
        if self.window < 1:
            raise ConfigError(f"data.window must be at least 1, got {self.window}.")
        if self.norm not in ("zscore", "robust"):
            raise ConfigError(f"data.norm must be 'zscore' or 'robust', got {self.norm!r}.")
        if self.clip <= 0:
            raise ConfigError(f"data.clip must be positive, got {self.clip}.")
        if self.missing_flags not in ("auto", "all", "none"):
            raise ConfigError("data.missing_flags must be 'auto', 'all' or 'none'.")
        if self.nonfinite not in ("mask", "error"):
            raise ConfigError("data.nonfinite must be 'mask' or 'error'.")
        if not 0.0 < self.train_frac < 1.0:
            raise ConfigError(f"data.train_frac must be in (0, 1), got {self.train_frac}.")
        if self.n_folds < 1:
            raise ConfigError(f"data.n_folds must be at least 1, got {self.n_folds}.")
        if not -self.n_folds <= self.fold < self.n_folds:
            raise ConfigError(f"data.fold {self.fold} is out of range for {self.n_folds} folds.")
        if self.min_stocks < 2:
            raise ConfigError(f"data.min_stocks must be at least 2, got {self.min_stocks}.")
        if self.max_val_days < 0:
            raise ConfigError("data.max_val_days must be >= 0.")


@dataclass
class GraphConfig:
    """The per-day correlation graph fed to the GAT."""

    lookback: int = 60
    """Days of past returns used for the correlation (the last ``lookback`` days up to t)."""
    k: int = 15
    """Each stock keeps its k most correlated peers by |rho| (before symmetrisation)."""
    threshold: float = 0.3
    """Peers beyond the first ``min_k`` are kept only if |rho| >= threshold."""
    min_k: int = 5
    """Each stock keeps at least this many peers whatever their correlation."""
    cache: bool = True
    """Keep each day's graph in memory after it is first built."""

    def __post_init__(self) -> None:
        if self.lookback < 2:
            raise ConfigError(f"graph.lookback must be at least 2, got {self.lookback}.")
        if self.k < 1:
            raise ConfigError(f"graph.k must be at least 1, got {self.k}.")
        if not 0 <= self.min_k <= self.k:
            raise ConfigError(f"graph.min_k must be between 0 and k={self.k}, got {self.min_k}.")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"graph.threshold must be in [0, 1], got {self.threshold}.")


@dataclass
class ModelConfig:
    """Sizes and switches of the ATFT-GAT-FAN network."""

    hidden: int = 64
    """Hidden size H of every block."""
    vsn_hidden: int = 16
    """Width D of each per-feature GRN (inner and output); the selected mixture is projected
    to ``hidden``. Setting it to ``hidden`` gives the classic full-width selection network."""
    heads: int = 4
    """Heads of the temporal self-attention (must divide hidden)."""
    dropout: float = 0.1
    """Dropout in GRNs, attention and the feed-forward block."""
    fan_windows: list[int] = field(default_factory=lambda: [5, 10, 20])
    """Rolling windows mixed by frequency adaptive normalisation (FAN)."""
    san_slice: int = 10
    """Length of the overlapping time slices of slice adaptive normalisation (SAN)."""
    san_stride: int = 5
    """Stride between SAN slices (stride < slice gives overlapping slices)."""
    use_fan_san: bool = True
    """Apply ``x + SAN(FAN(x))`` before the temporal block."""
    use_gat: bool = True
    """Use the graph attention branch; false gives the no-GAT ablation."""
    gat_heads: list[int] = field(default_factory=lambda: [4, 2])
    """Heads of the two GATv2 layers (each must divide hidden)."""
    gat_dropout: float = 0.0
    """Dropout on GAT attention coefficients."""
    graph_pool: str = "input"
    """Neighbour-mean path fused beside the GAT: ``input`` (mean over graph neighbours of
    each one's projected ``[z_base, EMA summaries of its input window]``), ``hidden``
    (of ``z_base`` only) or ``none``."""
    pool_filters: int = 4
    """Learned-decay EMA filters per input feature summarising the window (``graph_pool=input``)."""
    gate_bias: float = 0.0
    """Initial bias of the fusion gates (sigmoid(0) = 0.5 lets the graph paths learn from the start)."""
    quantiles: list[float] = field(default_factory=lambda: [0.05, 0.25, 0.5, 0.75, 0.95])
    """Predicted quantiles per horizon; must be increasing and contain 0.5."""
    edge_dim: int = 3
    """Edge attribute width from the graph builder: [rho, same_sector, |rho|]."""

    def __post_init__(self) -> None:
        if self.hidden < 4:
            raise ConfigError(f"model.hidden must be at least 4, got {self.hidden}.")
        if self.vsn_hidden < 1:
            raise ConfigError(f"model.vsn_hidden must be at least 1, got {self.vsn_hidden}.")
        if self.heads < 1 or self.hidden % self.heads:
            raise ConfigError(f"model.heads={self.heads} must divide model.hidden={self.hidden}.")
        if len(self.gat_heads) != 2 or any(g < 1 or self.hidden % g for g in self.gat_heads):
            raise ConfigError("model.gat_heads must be two head counts that divide model.hidden.")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.gat_dropout < 1.0:
            raise ConfigError("model.dropout and model.gat_dropout must be in [0, 1).")
        if not self.fan_windows or any(w < 1 for w in self.fan_windows):
            raise ConfigError("model.fan_windows must be a non-empty list of positive windows.")
        if self.san_slice < 2 or not 1 <= self.san_stride <= self.san_slice:
            raise ConfigError("model.san_slice must be >= 2 and 1 <= san_stride <= san_slice.")
        q = list(self.quantiles)
        if q != sorted(set(q)) or not all(0.0 < v < 1.0 for v in q) or 0.5 not in q:
            raise ConfigError("model.quantiles must be increasing, inside (0, 1) and contain 0.5.")
        if self.graph_pool not in ("input", "hidden", "none"):
            raise ConfigError("model.graph_pool must be 'input', 'hidden' or 'none'.")
        if self.pool_filters < 1:
            raise ConfigError(f"model.pool_filters must be at least 1, got {self.pool_filters}.")
        if self.edge_dim != 3:
            raise ConfigError("model.edge_dim must be 3 (the graph builder emits 3 attributes).")


@dataclass
class LossConfig:
    """The training objective."""

    horizon_weights: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0, 1.0])
    """Weight of each horizon in the loss (one per data.horizons entry)."""
    pinball_weight: float = 1.0
    """Weight of the pinball loss averaged over quantiles."""
    corr_weight: float = 0.5
    """Weight of (1 - Pearson correlation of the median with the target) per day."""
    rank_weight: float = 0.5
    """Weight of (1 - soft Spearman correlation of the median with the target) per day."""
    rank_temperature: float = 0.1
    """Temperature of the sigmoid soft ranks (in target standard deviations)."""
    target_norm: str = "zscore"
    """Per-day transform of targets before the loss: ``zscore``, ``rank`` (gauss-rank) or ``none``."""

    def __post_init__(self) -> None:
        if any(w < 0 for w in self.horizon_weights) or not any(self.horizon_weights):
            raise ConfigError("loss.horizon_weights must be >= 0 with at least one positive.")
        for name in ("pinball_weight", "corr_weight", "rank_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be >= 0.")
        if self.rank_temperature <= 0:
            raise ConfigError("loss.rank_temperature must be positive.")
        if self.target_norm not in ("zscore", "rank", "none"):
            raise ConfigError("loss.target_norm must be 'zscore', 'rank' or 'none'.")


@dataclass
class TrainConfig:
    """Optimisation, schedule, checkpoints and runtime."""

    seed: int = 0
    """Seed of model initialisation, day shuffling and dropout."""
    epochs: int = 20
    """Maximum number of passes over the training days."""
    days_per_step: int = 4
    """Trading days per optimiser step (split evenly across processes under torchrun)."""
    lr: float = 2e-3
    """Peak learning rate of AdamW."""
    min_lr_ratio: float = 0.05
    """The cosine schedule decays to lr * min_lr_ratio."""
    weight_decay: float = 1e-2
    """AdamW weight decay."""
    warmup_steps: int = 50
    """Linear warm-up steps before the cosine decay."""
    grad_clip: float = 1.0
    """Clip the global gradient norm to this value (0 disables)."""
    patience: int = 5
    """Stop after this many epochs without a better validation metric (0 disables)."""
    early_stop_metric: str = "rank_ic_mean"
    """Validation metric that selects the best epoch: ``rank_ic_mean`` or ``rank_ic_{h}d``."""
    precision: str = "auto"
    """``auto`` (bf16 autocast on CUDA, fp32 on CPU), ``bf16`` or ``fp32``; bf16 is CUDA only."""
    compile: bool = False
    """Wrap the per-stock encoder in ``torch.compile``."""
    device: str = "auto"
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    threads: int = 0
    """CPU threads for torch (0 keeps torch's default)."""
    deterministic: bool = True
    """Ask torch for deterministic algorithms (CPU results are then reproducible)."""
    checkpoint_every: int = 1
    """Write ``last.pt`` every this many epochs (``best.pt`` whenever the metric improves)."""
    progress: bool = True
    """Show tqdm progress bars (only when stderr is a terminal)."""

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"train.epochs must be at least 1, got {self.epochs}.")
        if self.days_per_step < 1:
            raise ConfigError("train.days_per_step must be at least 1.")
        if self.lr <= 0 or not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError("train.lr must be positive and train.min_lr_ratio in [0, 1].")
        if self.weight_decay < 0 or self.warmup_steps < 0 or self.grad_clip < 0:
            raise ConfigError("train.weight_decay, warmup_steps and grad_clip must be >= 0.")
        if self.patience < 0 or self.checkpoint_every < 1:
            raise ConfigError("train.patience must be >= 0 and train.checkpoint_every >= 1.")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError("train.precision must be 'auto', 'bf16' or 'fp32'.")
        if not (self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")):
            raise ConfigError(
                f"train.device must be auto, cpu, cuda or cuda:N, got {self.device!r}."
            )
        if self.threads < 0:
            raise ConfigError("train.threads must be >= 0.")
        m = self.early_stop_metric
        if m != "rank_ic_mean" and not (m.startswith("rank_ic_") and m.endswith("d")):
            raise ConfigError("train.early_stop_metric must be 'rank_ic_mean' or 'rank_ic_{h}d'.")


@dataclass
class Config:
    """The whole configuration tree."""

    data: DataConfig = field(default_factory=DataConfig)
    """Panel, windows, normalisation and splits."""
    synth: SynthConfig = field(default_factory=SynthConfig)
    """Synthetic market used when data.path is null."""
    graph: GraphConfig = field(default_factory=GraphConfig)
    """Correlation graph per day."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """Network sizes and switches."""
    loss: LossConfig = field(default_factory=LossConfig)
    """Training objective."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """Optimisation and runtime."""

    def __post_init__(self) -> None:
        if len(self.loss.horizon_weights) != len(self.data.horizons):
            raise ConfigError(
                f"loss.horizon_weights has {len(self.loss.horizon_weights)} entries but "
                f"data.horizons has {len(self.data.horizons)}."
            )
        if self.data.embargo < max(self.data.horizons):
            raise ConfigError(
                f"data.embargo={self.data.embargo} must be at least the longest horizon "
                f"({max(self.data.horizons)} days) so that no target overlaps validation."
            )
        m = self.train.early_stop_metric
        if m != "rank_ic_mean" and int(m[len("rank_ic_") : -1] or 0) not in self.data.horizons:
            raise ConfigError(
                f"train.early_stop_metric {m!r} names a horizon not in data.horizons."
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------
# Building a Config from plain dicts, presets and overrides


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config key '{key}' must be a list, got {value!r}.")
        return [_coerce(v, args[0], key) for v in value]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"config key '{key}' must be true or false, got {value!r}.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"config key '{key}' must be an integer, got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key '{key}' must be a number, got {value!r}.")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"config key '{key}' must be a string, got {value!r}.")
        return value
    return value


def from_dict(cls: type, data: dict[str, Any] | None, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a nested dict, rejecting unknown keys."""
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or 'root'}' must be a mapping.")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for key in data:
        if key not in names:
            raise ConfigError(f"unknown config key '{prefix}{key}'.")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            kwargs[f.name] = from_dict(tp, data[f.name], f"{prefix}{f.name}.")
        else:
            kwargs[f.name] = _coerce(data[f.name], tp, prefix + f.name)
    return cls(**kwargs)


def _set_path(tree: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = tree
    cls: Any = Config
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if part not in fields:
            raise ConfigError(f"unknown config key '{'.'.join(parts[: i + 1])}'.")
        ftype = typing.get_type_hints(cls)[part]
        if i == len(parts) - 1:
            if dataclasses.is_dataclass(ftype):
                raise ConfigError(f"config key '{key}' is a section; set one of its fields.")
            node[part] = value
            return
        if not dataclasses.is_dataclass(ftype):
            raise ConfigError(f"unknown config key '{key}' ('{part}' is not a section).")
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config section '{part}' must be a mapping.")
        cls = ftype


def parse_override(item: str) -> tuple[str, Any]:
    """Split ``section.field=value``; the value is parsed as YAML (``1e-3``, ``[1, 5]``, ``null``)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.field=value.")
    key, raw = item.split("=", 1)
    key = key.strip()
    key = key.removeprefix("--")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def preset_path(name_or_path: str | Path) -> Path:
    """Resolve a preset name (``default``) or a YAML path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"config file {str(p)!r} does not exist.")
        return p
    candidate = PRESET_DIR / f"{name_or_path}.yaml"
    if not candidate.is_file():
        names = ", ".join(available_presets())
        raise ConfigError(f"unknown preset {str(name_or_path)!r}; available presets: {names}.")
    return candidate


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_config(
    preset_name_or_path: str | Path | None = "default", overrides: list[str] | None = None
) -> Config:
    """Load a preset (name in ``trainer/configs`` or a YAML path), apply overrides, validate.

    Args:
        preset_name_or_path: ``"default"``, ``"smoke"``, ``"tiny"`` or a path; None = defaults.
        overrides: items like ``"model.hidden=32"`` or ``"--set model.hidden=32"`` pieces.

    Raises:
        ConfigError: unknown key (named in the message), bad value or unreadable preset.
    """
    tree: dict[str, Any] = {}
    if preset_name_or_path is not None:
        path = preset_path(preset_name_or_path)
        try:
            tree = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"preset {str(path)!r} is not valid YAML ({exc.__class__.__name__}).")
        if not isinstance(tree, dict):
            raise ConfigError(f"preset {str(path)!r} must hold a mapping of sections.")
    for item in overrides or []:
        key, value = parse_override(item)
        _set_path(tree, key, value)
    return from_dict(Config, tree)


def config_from_dict(tree: dict[str, Any]) -> Config:
    """Rebuild a Config saved with :meth:`Config.to_dict` (for checkpoints)."""
    return from_dict(Config, tree)


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of dataclass ``cls`` (attribute docstrings)."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = nxt.value.value.strip()
    return docs
