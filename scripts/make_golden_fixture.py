#!/usr/bin/env python3
"""Writes the PyTorch reference that MiniGpt's golden test compares against (in the spirit of llm.c's
test_gpt2.c): fixed weights, one batch, the logits, the loss, every parameter's gradient, and the losses
of 5 AdamW steps, for a tiny GPT.

The reference model (reference_gpt.py) is written from the formulas independently of MiniGpt's C# code;
only the parameter names are shared so that the test can load the weights.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/make_golden_fixture.py tests/MiniGpt.Tests/Fixtures/gpt_tiny_golden.bin

File layout: b"MGPTGOLD", uint32 little-endian header length, a UTF-8 JSON header, then float32
little-endian tensor data at the offsets (in floats) the header gives.
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_gpt import forward, init_params  # noqa: E402

CONFIG = dict(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=True, dropout=0.0)
ADAMW = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, steps=5)
B, T = 4, 16


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
