#!/usr/bin/env python3
"""Writes the PyTorch reference that MiniGpt's golden test compares against (in the spirit of llm.c's
test_gpt2.c): fixed weights, one batch, the logits, the loss, every parameter's gradient, and the losses
of 5 AdamW steps, for a tiny GPT.

The reference model below is written from the formulas independently of MiniGpt's C# code; only the
parameter names are shared so that the test can load the weights.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/make_golden_fixture.py tests/MiniGpt.Tests/Fixtures/gpt_tiny_golden.bin

File layout: b"MGPTGOLD", uint32 little-endian header length, a UTF-8 JSON header, then float32
little-endian tensor data at the offsets (in floats) the header gives.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F

CONFIG = dict(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=True, dropout=0.0)
ADAMW = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, steps=5)
B, T = 4, 16


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


def forward(p, idx, cfg):
    Bb, Tt = idx.shape
    C, nh, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    hs = C // nh
    x = p["wte.weight"][idx] + p["wpe.weight"][:Tt]
    mask = torch.tril(torch.ones(Tt, Tt, dtype=torch.bool))
    for l in range(L):
        h = f"h.{l}."
        a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
        q, k, v = (a @ p[h + "attn.c_attn.weight"].T + p[h + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(Bb, Tt, nh, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = torch.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bb, Tt, C)
        x = x + y @ p[h + "attn.c_proj.weight"].T + p[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], 1e-5)
        m = F.gelu(m @ p[h + "mlp.c_fc.weight"].T + p[h + "mlp.c_fc.bias"])
        x = x + m @ p[h + "mlp.c_proj.weight"].T + p[h + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    return x @ p["wte.weight"].T   # tied head


def main(out_path):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    cfg = CONFIG
    params = init_params(cfg, gen)
    x = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
    y = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)

    initial = {k: v.detach().clone() for k, v in params.items()}
    logits = forward(params, x, cfg)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in params.items()}

    decay = [v for v in params.values() if v.dim() >= 2]
    no_decay = [v for v in params.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": ADAMW["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]), eps=ADAMW["eps"])
    losses = [loss.item()]
    for _ in range(ADAMW["steps"]):
        opt.step()
        opt.zero_grad(set_to_none=True)
        logits_k = forward(params, x, cfg)
        loss_k = F.cross_entropy(logits_k.view(-1, logits_k.size(-1)), y.view(-1))
        loss_k.backward()
        losses.append(loss_k.item())

    tensors = [("logits", logits.detach())]
    tensors += [("param/" + k, v) for k, v in initial.items()]
    tensors += [("grad/" + k, v) for k, v in grads.items()]
    entries, blobs, offset = [], [], 0
    for name, t in tensors:
        flat = t.contiguous().view(-1).to(torch.float32)
        entries.append({"name": name, "shape": list(t.shape), "offset": offset})
        blobs.append(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
        offset += flat.numel()
    header = {
        "torch_version": torch.__version__,
        "config": cfg, "adamw": ADAMW,
        "x": x.tolist(), "y": y.tolist(),
        "loss": loss.item(), "adamw_losses": losses,
        "tensors": entries,
    }
    hb = json.dumps(header).encode("utf-8")
    with open(out_path, "wb") as f:
        f.write(b"MGPTGOLD")
        f.write(struct.pack("<I", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    print(f"wrote {out_path}: loss {loss.item():.6f}, {len(tensors)} tensors, {offset} floats, torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/MiniGpt.Tests/Fixtures/gpt_tiny_golden.bin")
