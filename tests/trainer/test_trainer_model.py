import math

import pytest
import torch

from trainer.config import ModelConfig
from trainer.graph import build_correlation_graph
from trainer.model import (
    ATFTGATFAN,
    FAN,
    GRN,
    SAN,
    Encoder,
    FeatureGRNs,
    GraphBlock,
    QuantileHeads,
    TemporalFusion,
    VariableSelection,
)

N, T, F, H = 7, 10, 5, 16


@pytest.fixture
def cfg():
    return ModelConfig(
        hidden=H,
        vsn_hidden=4,
        heads=2,
        dropout=0.0,
        fan_windows=[3, 5, 10],
        san_slice=5,
        san_stride=3,
    )


def test_block_shapes(cfg):
    torch.manual_seed(0)
    x = torch.randn(N, T, F)
    assert GRN(F, H, 3)(x).shape == (N, T, 3)
    assert FeatureGRNs(F, 4, 6)(x).shape == (N, T, F, 6)
    e, w = VariableSelection(F, H, 4, 0.0)(x)
    assert e.shape == (N, T, H) and w.shape == (N, T, F)
    torch.testing.assert_close(w.sum(-1), torch.ones(N, T))
    h = torch.randn(N, T, H)
    assert FAN(H, [3, 5])(h).shape == (N, T, H)
    assert SAN(H, 5, 3)(h).shape == (N, T, H)
    assert TemporalFusion(H, 2, 0.0)(h).shape == (N, H)
    assert Encoder(cfg, F)(x).shape == (N, H)
    ei, ea = build_correlation_graph(torch.randn(N, 30), torch.arange(N) % 2, 3, 0.0, 1)
    assert GraphBlock(cfg)(torch.randn(N, H), ei, ea).shape == (N, H)
    assert QuantileHeads(H, 4, cfg.quantiles, 0.0)(torch.randn(N, H)).shape == (N, 4, 5)
    model = ATFTGATFAN(cfg, F, n_horizons=4)
    assert model(x, ei, ea).shape == (N, 4, 5)
    assert model(x).shape == (N, 4, 5)


def test_feature_grns_are_per_feature_grns(cfg):
    """The batched form equals F separate scalar GRNs computed one by one."""
    torch.manual_seed(1)
    m = FeatureGRNs(F, 4, 6)
    x = torch.randn(N, T, F)
    out = m(x)
    for f in range(F):
        xf = x[..., f : f + 1]
        a = torch.nn.functional.elu(xf * m.w1[f] + m.b1[f])
        g = a @ m.w2[f] + m.b2[f, 0]
        y = g[..., :6] * torch.sigmoid(g[..., 6:]) + xf * m.ws[f] + m.bs[f]
        y = torch.nn.functional.layer_norm(y, (6,)) * m.ln_w[f] + m.ln_b[f]
        torch.testing.assert_close(out[..., f, :], y, atol=1e-5, rtol=1e-5)
    w = torch.softmax(torch.randn(N, T, F), -1)
    torch.testing.assert_close(
        m.mix(x, w), torch.einsum("ntf,ntfd->ntd", w, out), atol=1e-5, rtol=1e-5
    )


def test_fan_against_hand_computed_values():
    fan = FAN(1, [2], eps=1e-12)
    x = torch.tensor([1.0, 3.0, 2.0, 6.0]).view(1, 4, 1)
    # window 2: t=0 alone -> 0; t=1: mean 2, std 1 -> (3-2)/1 = 1; t=2: mean 2.5, std .5 -> -1; t=3: mean 4, std 2 -> 1
    torch.testing.assert_close(fan(x).flatten(), torch.tensor([0.0, 1.0, -1.0, 1.0]))
    fan2 = FAN(1, [2, 4], eps=1e-12)
    with torch.no_grad():
        fan2.logits.copy_(torch.tensor([[0.0, math.log(3.0)]]))  # weights 1/4, 3/4
    # window 4 at t=3: mean 3, var (4+0+1+9)/4 = 3.5 -> (6-3)/sqrt(3.5)
    expect_t3 = 0.25 * 1.0 + 0.75 * 3.0 / math.sqrt(3.5)
    assert fan2(x).flatten()[3].item() == pytest.approx(expect_t3, rel=1e-5)


def test_fan_is_causal():
    fan = FAN(3, [3, 5])
    x = torch.randn(2, 8, 3)
    y = x.clone()
    y[:, 6:] += 10
    torch.testing.assert_close(fan(x)[:, :6], fan(y)[:, :6])


def test_san_against_hand_computed_values():
    san = SAN(1, slice_len=2, stride=1, eps=0.0)
    x = torch.tensor([1.0, 3.0, 7.0]).view(1, 3, 1)
    # slices [1,3] and [3,7]: z = [-1, 1] and [-1, 1]; step 1 is in both -> (1 + -1)/2 = 0
    torch.testing.assert_close(san(x).flatten(), torch.tensor([-1.0, 0.0, 1.0]))
    with torch.no_grad():
        san.gamma.fill_(2.0)
        san.beta.fill_(0.5)
    torch.testing.assert_close(san(x).flatten(), torch.tensor([-1.5, 0.5, 2.5]))


def test_san_slices_cover_the_window():
    san = SAN(1, 10, 5)
    a = san.membership(20)
    assert a.shape == (3, 20) and (a.sum(0) >= 1).all() and (a.sum(1) == 10).all()
    a = san.membership(13)  # last slice aligned to the end
    assert a[-1, -1] == 1 and (a.sum(0) >= 1).all()


def test_temporal_last_query_equals_full_self_attention():
    torch.manual_seed(0)
    tf = TemporalFusion(H, 2, 0.0).eval()
    x = torch.randn(N, T, H)
    h, _ = tf.lstm(x)
    a = h + tf.pe[:T]
    full, _ = tf.attn(a, a, a)
    last, _ = tf.attn(a[:, -1:], a, a)
    torch.testing.assert_close(full[:, -1:], last, atol=1e-6, rtol=1e-5)


def test_quantiles_are_monotone(cfg):
    torch.manual_seed(0)
    heads = QuantileHeads(H, 4, cfg.quantiles, 0.0)
    q = heads(torch.randn(100, H) * 10)
    assert (q.diff(dim=-1) >= 0).all()


def test_gat_ablation_has_no_graph_parameters(cfg):
    cfg.use_gat = False
    model = ATFTGATFAN(cfg, F)
    assert model.graph is None
    assert not any("gat" in n for n, _ in model.named_parameters())
    ei = torch.zeros((2, 0), dtype=torch.long)
    torch.testing.assert_close(
        model(torch.ones(3, T, F), ei, torch.zeros(0, 3)), model(torch.ones(3, T, F))
    )


def test_gradients_reach_every_parameter(cfg):
    torch.manual_seed(0)
    model = ATFTGATFAN(cfg, F)
    ei, ea = build_correlation_graph(torch.randn(N, 30), torch.arange(N) % 2, 3, 0.0, 2)
    model(torch.randn(N, T, F), ei, ea).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_neighbour_mean_matches_loop():
    from trainer.model import neighbour_mean

    torch.manual_seed(3)
    v = torch.randn(6, 4)
    ei = torch.tensor([[0, 1, 2, 3, 1, 5], [1, 0, 0, 0, 2, 4]])
    w = torch.rand(6)
    got = neighbour_mean(v, ei, w, eps=0.0 + 1e-12)
    for i in range(6):
        sel = ei[1] == i
        if sel.any():
            ref = (w[sel].unsqueeze(1) * v[ei[0, sel]]).sum(0) / w[sel].sum()
        else:
            ref = torch.zeros(4)
        torch.testing.assert_close(got[i], ref)


def test_window_summary_is_normalised_ema():
    from trainer.model import WindowSummary

    torch.manual_seed(4)
    ws = WindowSummary(3, 2)
    x = torch.randn(5, 8, 3)
    out = ws(x).reshape(5, 3, 2)
    a = torch.sigmoid(ws.logit.detach())
    for f in range(3):
        for c in range(2):
            num = torch.zeros(5)
            den = 0.0
            for t in range(8):
                num = num + a[f, c] ** (7 - t) * x[:, t, f]
                den = den + a[f, c] ** (7 - t)
            torch.testing.assert_close(out[:, f, c], num / den)
    torch.testing.assert_close(ws(torch.ones(2, 8, 3)), torch.ones(2, 6))


@pytest.mark.parametrize("mode", ["input", "hidden", "none"])
def test_graph_pool_modes(cfg, mode):
    cfg.graph_pool = mode
    torch.manual_seed(0)
    model = ATFTGATFAN(cfg, F)
    names = [n for n, _ in model.named_parameters()]
    assert any("gat1" in n for n in names) and any("gat2" in n for n in names)
    assert any("pool_in" in n for n in names) == (mode != "none")
    assert any("summary" in n for n in names) == (mode == "input")
    ei, ea = build_correlation_graph(torch.randn(N, 30), torch.arange(N) % 2, 3, 0.0, 2)
    assert model(torch.randn(N, T, F), ei, ea).shape == (N, 4, 5)


def test_input_pool_carries_neighbour_features(cfg):
    """With the input pool, a node's output depends on its neighbours' raw features."""
    torch.manual_seed(0)
    model = ATFTGATFAN(cfg, F).eval()
    ei = torch.tensor([[0, 1], [1, 0]])
    ea = torch.tensor([[0.5, 1.0, 0.5], [0.5, 1.0, 0.5]])
    x = torch.randn(3, T, F)
    base = model(x, ei, ea)
    x2 = x.clone()
    x2[1, :, 0] += 1.0  # node 1 is node 0's only neighbour; node 2 is isolated
    moved = model(x2, ei, ea)
    assert not torch.allclose(base[0], moved[0])
    torch.testing.assert_close(base[2], moved[2])
