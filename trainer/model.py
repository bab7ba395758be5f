"""ATFT-GAT-FAN: variable selection, FAN/SAN, temporal fusion, graph attention, quantile heads.

Shapes use N stocks (the nodes of one or more days), T window days, F features,
H hidden size, Hz horizons, Q quantiles.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from trainer.config import ModelConfig


class GRN(nn.Module):
    r"""Gated residual network.

    .. math::
        \mathrm{GRN}(a) = \mathrm{LayerNorm}\big(\mathrm{skip}(a) + \mathrm{GLU}(W_2\,\mathrm{ELU}(W_1 a + b_1) + b_2)\big)

    Shapes: ``[..., d_in] -> [..., d_out]``.
    """

    def __init__(self, d_in: int, d_hidden: int, d_out: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, 2 * d_out)
        self.skip = nn.Linear(d_in, d_out) if d_in != d_out else nn.Identity()
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_out)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        h = self.drop(self.fc2(F.elu(self.fc1(a))))
        return self.norm(self.skip(a) + F.glu(h, dim=-1))


class FeatureGRNs(nn.Module):
    r"""F independent GRNs, one per scalar feature, computed at once.

    Feature f maps its scalar :math:`x_f` to :math:`\mathbb{R}^D` with its own weights:

    .. math::
        a_f = \mathrm{ELU}(x_f w^{(1)}_f + b^{(1)}_f) \in \mathbb{R}^{V}, \quad
        e_f = \mathrm{LN}_f\big(x_f w^{s}_f + b^{s}_f + \mathrm{GLU}(a_f W^{(2)}_f + b^{(2)}_f)\big)

    The ``[F, V, 2D]`` weight tensor is applied with one batched matmul, not a
    Python loop over features.

    Shapes: ``x [..., F] -> [..., F, D]``.
    """

    def __init__(self, n_features: int, d_hidden: int, d_out: int, dropout: float = 0.0):
        super().__init__()
        f, v, d = n_features, d_hidden, d_out
        self.w1 = nn.Parameter(torch.randn(f, v))
        self.b1 = nn.Parameter(torch.zeros(f, v))
        self.w2 = nn.Parameter(torch.randn(f, v, 2 * d) / math.sqrt(v))
        self.b2 = nn.Parameter(torch.zeros(f, 1, 2 * d))
        self.ws = nn.Parameter(torch.randn(f, d))
        self.bs = nn.Parameter(torch.zeros(f, d))
        self.ln_w = nn.Parameter(torch.ones(f, d))
        self.ln_b = nn.Parameter(torch.zeros(f, d))
        self.drop = nn.Dropout(dropout)
        self.d_out = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        xf = x.reshape(-1, x.shape[-1]).T.unsqueeze(-1)  # [F, M, 1], M = prod(lead)
        a = F.elu(xf * self.w1.unsqueeze(1) + self.b1.unsqueeze(1))  # [F, M, V]
        g = torch.baddbmm(self.b2, a, self.w2)  # [F, M, 2D]
        value, gate = self.drop(g).chunk(2, dim=-1)
        y = value * torch.sigmoid(gate) + xf * self.ws.unsqueeze(1) + self.bs.unsqueeze(1)
        y = F.layer_norm(y, (self.d_out,))
        y = y * self.ln_w.unsqueeze(1) + self.ln_b.unsqueeze(1)  # [F, M, D]
        return y.permute(1, 0, 2).reshape(*lead, x.shape[-1], self.d_out)

    def mix(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``sum_f weights[..., f] * e_f``: ``x [..., F], weights [..., F] -> [..., D]``.

        Same as ``einsum('...f,...fd->...d', weights, self(x))`` without the final permute.
        """
        lead = x.shape[:-1]
        xf = x.reshape(-1, x.shape[-1]).T.unsqueeze(-1)
        a = F.elu(xf * self.w1.unsqueeze(1) + self.b1.unsqueeze(1))
        g = torch.baddbmm(self.b2, a, self.w2)
        value, gate = self.drop(g).chunk(2, dim=-1)
        y = value * torch.sigmoid(gate) + xf * self.ws.unsqueeze(1) + self.bs.unsqueeze(1)
        y = F.layer_norm(y, (self.d_out,))
        w = weights.reshape(-1, weights.shape[-1]).T.unsqueeze(-1)  # [F, M, 1]
        # sum_f w_f (ln_f * gamma_f + beta_f) = sum_f (w_f ln_f) * gamma_f + w @ beta
        out = (
            torch.einsum("fmd,fd->md", y * w, self.ln_w)
            + weights.reshape(-1, w.shape[0]) @ self.ln_b
        )
        return out.reshape(*lead, self.d_out)


class VariableSelection(nn.Module):
    r"""Variable selection network.

    Selection weights :math:`v = \mathrm{softmax}(\mathrm{GRN}(x))` over the F
    features; output :math:`P \sum_f v_f\, e_f` with :math:`e_f \in \mathbb{R}^D`
    from :class:`FeatureGRNs` and :math:`P` a linear map to H (identity when D = H,
    which is the classic full-width form; a small D keeps the ``[N, T, F, D]``
    intermediate cheap when F is large).
    Shapes: ``x [N, T, F] -> ([N, T, H], weights [N, T, F])``.
    """

    def __init__(self, n_features: int, d_hidden: int, d_vsn: int, dropout: float):
        super().__init__()
        self.select = GRN(n_features, d_hidden, n_features, dropout)
        self.features = FeatureGRNs(n_features, d_vsn, d_vsn, dropout)
        self.project = nn.Linear(d_vsn, d_hidden) if d_vsn != d_hidden else nn.Identity()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.softmax(self.select(x), dim=-1)
        return self.project(self.features.mix(x, w)), w


class FAN(nn.Module):
    r"""Frequency adaptive normalisation.

    For each window w, :math:`z_w = (x - \mu_w) / \sqrt{\sigma^2_w + \epsilon}`
    with the trailing rolling mean and variance over ``min(w, t+1)`` steps
    (causal: step t sees only steps up to t). The output mixes them with learned
    per-channel softmax weights: :math:`\sum_w \mathrm{softmax}_w(\alpha_{c})\, z_{w,c}`.
    Shapes: ``[B, T, H] -> [B, T, H]``.
    """

    def __init__(self, d: int, windows: list[int], eps: float = 1e-5):
        super().__init__()
        self.windows = list(windows)
        self.logits = nn.Parameter(torch.zeros(d, len(self.windows)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mix = torch.softmax(self.logits, dim=-1)  # [H, W]
        t = x.shape[1]
        wmax = max(self.windows)
        # Cumulative sums padded with wmax zeros: the sum over steps max(0, t-w+1)..t
        # is c[t + wmax] - c[t + wmax - w], two slices and no gather.
        c1 = F.pad(torch.cumsum(x, dim=1), (0, 0, wmax, 0))
        c2 = F.pad(torch.cumsum(x * x, dim=1), (0, 0, wmax, 0))
        steps = torch.arange(1, t + 1, device=x.device).view(1, t, 1)
        out = torch.zeros_like(x)
        for j, w in enumerate(self.windows):
            n = steps.clamp_max(w).to(x.dtype)
            mean = (c1[:, wmax : wmax + t] - c1[:, wmax - w : wmax - w + t]) / n
            sq = (c2[:, wmax : wmax + t] - c2[:, wmax - w : wmax - w + t]) / n
            var = (sq - mean * mean).clamp_min(0.0)
            out = out + mix[:, j] * (x - mean) * torch.rsqrt(var + self.eps)
        return out


class SAN(nn.Module):
    r"""Slice adaptive normalisation.

    The window is cut into overlapping slices of length L every S steps (the
    last slice is aligned to the end). Each slice is standardised by its own
    mean and standard deviation per channel; a step covered by several slices
    takes the average of its standardised values. Then a learned per-channel
    scale and shift: :math:`\gamma \odot \bar z + \beta`.
    Shapes: ``[B, T, H] -> [B, T, H]``.
    """

    def __init__(self, d: int, slice_len: int, stride: int, eps: float = 1e-5):
        super().__init__()
        self.slice_len, self.stride, self.eps = slice_len, stride, eps
        self.gamma = nn.Parameter(torch.ones(d))
        self.beta = nn.Parameter(torch.zeros(d))

    def membership(self, t: int, device=None) -> torch.Tensor:
        """``[n_slices, T]`` 0/1 matrix: step j belongs to slice s."""
        ln = min(self.slice_len, t)
        starts = list(range(0, t - ln + 1, self.stride))
        if starts[-1] != t - ln:
            starts.append(t - ln)
        s = torch.tensor(starts, device=device).unsqueeze(1)
        j = torch.arange(t, device=device).unsqueeze(0)
        return ((j >= s) & (j < s + ln)).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.membership(x.shape[1], x.device).to(x.dtype)  # [S, T]
        n = a.sum(1).view(1, -1, 1)
        mean = torch.einsum("st,bth->bsh", a, x) / n
        var = (torch.einsum("st,bth->bsh", a, x * x) / n - mean * mean).clamp_min(0.0)
        inv = torch.rsqrt(var + self.eps)  # [B, S, H]
        cover = a.sum(0).view(1, -1, 1)  # slices per step
        z = x * torch.einsum("st,bsh->bth", a, inv) - torch.einsum("st,bsh->bth", a, mean * inv)
        return self.gamma * (z / cover) + self.beta


def positional_encoding(t: int, d: int) -> torch.Tensor:
    """Sinusoidal encoding ``[T, d]``."""
    pos = torch.arange(t, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(t, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d // 2]
    return pe


class TemporalFusion(nn.Module):
    """LSTM, then self-attention with positional encoding, residual + LayerNorm and a
    feed-forward block, and a GRN fusing the LSTM and attention paths at the last step.

    Only the last step's output is kept, so attention is computed for the last
    query only; its keys and values are all T steps. This gives exactly the
    last row of full self-attention at 1/T of the cost.
    Shapes: ``[B, T, H] -> [B, H]``.
    """

    def __init__(self, d: int, heads: int, dropout: float, max_len: int = 512):
        super().__init__()
        self.lstm = nn.LSTM(d, d, batch_first=True)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(
            nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * d, d)
        )
        self.norm2 = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)
        self.fuse = GRN(2 * d, d, d, dropout)
        self.register_buffer("pe", positional_encoding(max_len, d), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)  # [B, T, H]
        a = h + self.pe[: h.shape[1]].to(h.dtype)
        q = a[:, -1:]
        att, _ = self.attn(q, a, a, need_weights=False)
        y = self.norm1(q + self.drop(att))
        y = self.norm2(y + self.drop(self.ffn(y)))
        return self.fuse(torch.cat([h[:, -1], y[:, 0]], dim=-1))


class Encoder(nn.Module):
    """Per-stock encoder: VSN, ``x + SAN(FAN(x))``, temporal fusion. ``[N, T, F] -> [N, H]``."""

    def __init__(self, cfg: ModelConfig, n_features: int):
        super().__init__()
        h = cfg.hidden
        self.vsn = VariableSelection(n_features, h, cfg.vsn_hidden, cfg.dropout)
        self.use_fan_san = cfg.use_fan_san
        if cfg.use_fan_san:
            self.fan = FAN(h, cfg.fan_windows)
            self.san = SAN(h, cfg.san_slice, cfg.san_stride)
        self.temporal = TemporalFusion(h, cfg.heads, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e, _ = self.vsn(x)
        if self.use_fan_san:
            e = e + self.san(self.fan(e))
        return self.temporal(e)


def neighbour_mean(
    v: torch.Tensor, edge_index: torch.Tensor, weight: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    r"""Weighted mean over in-neighbours: :math:`m_i = \sum_{j \to i} w_{ji} v_j / \sum_{j \to i} w_{ji}`.

    Scatter-adds along edges (tensor ops only, deterministic on CPU). A node
    without neighbours gets 0. Shapes: ``v [N, D], edge_index [2, E], weight [E] -> [N, D]``.
    """
    src, dst = edge_index
    w = weight.to(v.dtype)
    num = torch.zeros_like(v).index_add_(0, dst, v.index_select(0, src) * w.unsqueeze(1))
    den = torch.zeros(v.shape[0], dtype=v.dtype, device=v.device).index_add_(0, dst, w)
    return num / (den.unsqueeze(1) + eps)


class WindowSummary(nn.Module):
    r"""Learned exponential moving averages of each input feature over the window.

    For feature f and filter c, :math:`s_{fc} = \sum_t a_{fc}^{T-1-t} x_{t,f} / \sum_t a_{fc}^{T-1-t}`
    with a learned decay :math:`a_{fc} = \sigma(\theta_{fc}) \in (0, 1)` (initialised
    spread over 0.1..0.9). An EMA is the steady-state Kalman filter of an AR(1)
    signal seen in noise, so a few of them summarise a noisy window well; it
    works for any window length T. Shapes: ``x [N, T, F] -> [N, F * C]``.
    """

    def __init__(self, n_features: int, n_filters: int):
        super().__init__()
        init = torch.linspace(0.1, 0.9, n_filters) if n_filters > 1 else torch.tensor([0.7])
        self.logit = nn.Parameter(torch.logit(init).repeat(n_features, 1))  # [F, C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        lag = torch.arange(t - 1, -1, -1, device=x.device, dtype=x.dtype)  # T-1 .. 0
        a = torch.sigmoid(self.logit).to(x.dtype).clamp(1e-4, 1.0 - 1e-4)
        w = torch.exp(lag.view(1, 1, t) * torch.log(a).unsqueeze(-1))  # [F, C, T]
        w = w / w.sum(-1, keepdim=True)
        return torch.einsum("ntf,fct->nfc", x, w).reshape(x.shape[0], -1)


class GraphBlock(nn.Module):
    r"""Two GATv2 layers (``edge_dim``; 4 then 2 heads, concatenated to H), a neighbour-mean
    pooling path and a gated fusion

    .. math::
        z = z_{base} + g_1 \odot z_{gat} + g_2 \odot z_{pool}, \quad
        [g_1, g_2] = \sigma(W [z_{base}, z_{gat}, z_{pool}] + b)

    ``z_pool`` (``cfg.graph_pool``): ``"input"`` projects, per node, ``[z_base,
    EMA summaries of its input-feature window]`` to H and takes the mean of that
    over the node's graph neighbours, weighted by :math:`\sigma(u^\top a_e + c)`
    of the edge attributes (learned, starting as a plain mean); ``"hidden"`` pools
    ``z_base`` only; ``"none"`` drops the path (then :math:`z = z_{base} + g_1 \odot z_{gat}`).
    Attention over ``z_base`` alone has to find the sector signal in an encoding
    trained mostly by each stock's own features; the pooled input window hands
    it the cross-sectional mean of every raw feature (the noisy per-stock view of
    a sector signal averages out over same-sector neighbours).

    Shapes: ``z [N, H], edge_index [2, E], edge_attr [E, A], x [N, T, F] -> [N, H]``
    (``x`` is needed only with ``graph_pool="input"``).
    """

    def __init__(self, cfg: ModelConfig, n_features: int = 0):
        super().__init__()
        from torch_geometric.nn import GATv2Conv

        h = cfg.hidden
        h1, h2 = cfg.gat_heads
        self.gat1 = GATv2Conv(h, h // h1, heads=h1, edge_dim=cfg.edge_dim, dropout=cfg.gat_dropout)
        self.gat2 = GATv2Conv(h, h // h2, heads=h2, edge_dim=cfg.edge_dim, dropout=cfg.gat_dropout)
        self.pool_mode = cfg.graph_pool if (cfg.graph_pool != "input" or n_features) else "hidden"
        n_paths = 1
        if self.pool_mode != "none":
            n_paths = 2
            d_in = h
            if self.pool_mode == "input":
                self.summary = WindowSummary(n_features, cfg.pool_filters)
                d_in += n_features * cfg.pool_filters
            self.pool_in = nn.Linear(d_in, h)
            self.edge_weight = nn.Linear(cfg.edge_dim, 1)
            nn.init.zeros_(self.edge_weight.weight)
            nn.init.zeros_(self.edge_weight.bias)
        self.gate = nn.Linear((n_paths + 1) * h, n_paths * h)
        nn.init.constant_(self.gate.bias, cfg.gate_bias)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(
        self,
        z: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor,
        x: torch.Tensor | None = None,
    ) -> torch.Tensor:
        edge_attr = edge_attr.to(z.dtype)
        g = F.elu(self.gat1(z, edge_index, edge_attr))
        g = self.drop(self.gat2(g, edge_index, edge_attr))
        if self.pool_mode == "none":
            gate = torch.sigmoid(self.gate(torch.cat([z, g], dim=-1)))
            return z + gate * g
        v = z
        if self.pool_mode == "input":
            if x is None:
                raise ValueError("graph_pool='input' needs the input windows x [N, T, F].")
            v = torch.cat([z, self.summary(x.to(z.dtype))], dim=-1)
        w = torch.sigmoid(self.edge_weight(edge_attr)).squeeze(-1)
        p = self.drop(neighbour_mean(self.pool_in(v), edge_index, w))
        g1, g2 = torch.sigmoid(self.gate(torch.cat([z, g, p], dim=-1))).chunk(2, dim=-1)
        return z + g1 * g + g2 * p


class QuantileHeads(nn.Module):
    """One MLP head per horizon; quantiles made monotone by construction.

    The median is predicted directly; the other quantiles are the median plus
    (or minus) cumulative softplus increments, so ``q_0.05 <= ... <= q_0.95``.
    Shapes: ``[N, H] -> [N, Hz, Q]``.
    """

    def __init__(self, d: int, n_horizons: int, quantiles: list[float], dropout: float):
        super().__init__()
        self.mid = list(quantiles).index(0.5)
        self.n_q = len(quantiles)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Dropout(dropout), nn.Linear(d, self.n_q))
            for _ in range(n_horizons)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        raw = torch.stack([head(z) for head in self.heads], dim=1)  # [N, Hz, Q]
        mid = raw[..., self.mid : self.mid + 1]
        up = torch.cumsum(F.softplus(raw[..., self.mid + 1 :]), dim=-1)
        down = torch.cumsum(F.softplus(raw[..., : self.mid]).flip(-1), dim=-1).flip(-1)
        return torch.cat([mid - down, mid, mid + up], dim=-1)


class ATFTGATFAN(nn.Module):
    """The full model.

    ``forward(x, edge_index=None, edge_attr=None) -> [N, n_horizons, n_quantiles]``

    Args:
        x: ``[N, T, F]`` normalised feature windows of N stocks (one or more days
            stacked; edges never cross days).
        edge_index: ``[2, E]`` long, or None to skip the graph branch.
        edge_attr: ``[E, 3]`` from :func:`trainer.graph.build_correlation_graph`.

    With ``cfg.use_gat=False`` (the ablation) the graph arguments are ignored.
    """

    def __init__(self, cfg: ModelConfig, n_features: int, n_horizons: int = 4):
        super().__init__()
        self.cfg = cfg
        self.n_features = n_features
        self.encoder = Encoder(cfg, n_features)
        self.graph = GraphBlock(cfg, n_features) if cfg.use_gat else None
        self.heads = QuantileHeads(cfg.hidden, n_horizons, cfg.quantiles, cfg.dropout)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor | None = None,
        edge_attr: torch.Tensor | None = None,
    ) -> torch.Tensor:
        z = self.encoder(x)
        if self.graph is not None and edge_index is not None:
            z = self.graph(z, edge_index, edge_attr, x)
        return self.heads(z)
