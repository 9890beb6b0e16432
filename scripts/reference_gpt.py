"""An independent PyTorch GPT (GPT-2 layout, tied head, pre-LayerNorm), written from the formulas for
MiniGpt's golden test and speed comparison. Parameters live in a dict under MiniGpt's names."""
import math

import torch
import torch.nn.functional as F


def init_params(cfg, gen):
    C, V, L = cfg["n_embd"], cfg["vocab_size"], cfg["n_layer"]
    normal = lambda *shape, std=0.02: (torch.randn(*shape, generator=gen) * std)
    p = {"wte.weight": normal(V, C), "wpe.weight": normal(cfg["block_size"], C)}
    resid_std = 0.02 / math.sqrt(2 * L)
    for l in range(L):
        h = f"h.{l}."
        p[h + "ln_1.weight"] = 1 + 0.1 * torch.randn(C, generator=gen)   # perturbed so γ, β matter
        p[h + "ln_1.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "attn.c_attn.weight"] = normal(3 * C, C)
        p[h + "attn.c_attn.bias"] = 0.1 * torch.randn(3 * C, generator=gen)
        p[h + "attn.c_proj.weight"] = normal(C, C, std=resid_std)
        p[h + "attn.c_proj.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "ln_2.weight"] = 1 + 0.1 * torch.randn(C, generator=gen)
        p[h + "ln_2.bias"] = 0.1 * torch.randn(C, generator=gen)
        p[h + "mlp.c_fc.weight"] = normal(4 * C, C)
        p[h + "mlp.c_fc.bias"] = 0.1 * torch.randn(4 * C, generator=gen)
        p[h + "mlp.c_proj.weight"] = normal(C, 4 * C, std=resid_std)
        p[h + "mlp.c_proj.bias"] = 0.1 * torch.randn(C, generator=gen)
    p["ln_f.weight"] = 1 + 0.1 * torch.randn(C, generator=gen)
    p["ln_f.bias"] = 0.1 * torch.randn(C, generator=gen)
    return {k: v.clone().requires_grad_(True) for k, v in p.items()}


def _lin(x, p, name):
    """x Wᵀ + b, with no bias term when the model has none."""
    y = x @ p[name + ".weight"].T
    b = p.get(name + ".bias")
    return y if b is None else y + b


def forward(p, idx, cfg, training=False, sdpa=False):
    """Logits (B, T, V). With training, dropout cfg["dropout"] is applied where nanoGPT applies it; with sdpa,
    attention uses PyTorch 2's fused scaled_dot_product_attention (nanoGPT's flash path)."""
    Bb, Tt = idx.shape
    C, nh, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // nh
    pd = cfg.get("dropout", 0.0) if training else 0.0
    x = F.dropout(p["wte.weight"][idx] + p["wpe.weight"][:Tt], pd, training)
    mask = torch.tril(torch.ones(Tt, Tt, dtype=torch.bool))
    for l in range(L):
        h = f"h.{l}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p.get(h + "ln_1.bias"), 1e-5)
        q, k, v = _lin(a, p, h + "attn.c_attn").split(C, dim=2)
        q, k, v = (t.view(Bb, Tt, nh, hs).transpose(1, 2) for t in (q, k, v))
        if sdpa:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=pd, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            att = torch.softmax(att.masked_fill(~mask.to(att.device), float("-inf")), dim=-1)
            y = F.dropout(att, pd, training) @ v
        y = y.transpose(1, 2).reshape(Bb, Tt, C)
        x = x + F.dropout(_lin(y, p, h + "attn.c_proj"), pd, training)
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p.get(h + "ln_2.bias"), 1e-5)
        m = F.gelu(_lin(m, p, h + "mlp.c_fc"))
        x = x + F.dropout(_lin(m, p, h + "mlp.c_proj"), pd, training)
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p.get("ln_f.bias"), 1e-5)
    return x @ p["wte.weight"].T   # tied head
