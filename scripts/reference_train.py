#!/usr/bin/env python3
"""The CPU Shakespeare-char recipe in plain PyTorch, for timing MiniGpt against on the same machine.

Same model (reference_gpt.py), data split, batch sampling (nanoGPT's get_batch), AdamW parameter groups,
warmup + cosine schedule and gradient clipping as `minigpt train` with configs/shakespeare-char-cpu.json.
Prints one JSON line: median ms/iter after warm-up, total seconds and the final train/val loss.

Debian's python3-torch links the reference BLAS; for a fair comparison run it with OpenBLAS:
    apt-get install python3-torch libopenblas0-openmp
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=2 \\
        /usr/bin/python3 scripts/reference_train.py --max_iters 2000
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_gpt import forward, init_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/tinyshakespeare.txt")
    ap.add_argument("--max_iters", type=int, default=2000)
    ap.add_argument("--eval_iters", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1337)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    text = open(a.corpus, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    train, val = data[:n], data[n:]
    cfg = dict(vocab_size=len(chars), block_size=64, n_layer=4, n_head=4, n_embd=128, bias=False, dropout=0.0)
    B, T = 12, 64
    lr, min_lr, warmup, decay_iters = 1e-3, 1e-4, 100, 2000

    gen = torch.Generator().manual_seed(a.seed)
    params = init_params(dict(cfg, bias=True), gen)
    # bias=False: drop the biases and keep LayerNorm gains at 1, as nanoGPT's model does.
    params = {k: v for k, v in params.items() if not k.endswith(".bias")}
    with torch.no_grad():
        for k, v in params.items():
            if ".ln_" in k or k.startswith("ln_f"):
                v.fill_(1.0)

    def fwd(idx):
        return forward(params, idx, cfg)

    decay = [v for v in params.values() if v.dim() >= 2]
    no_decay = [v for v in params.values() if v.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99))

    def get_batch(split):
        d = train if split == "train" else val
        ix = torch.randint(len(d) - T, (B,))
        return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix])

    def get_lr(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        if it > decay_iters:
            return min_lr
        r = (it - warmup) / (decay_iters - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr - min_lr)

    times = []
    start = time.time()
    for it in range(a.max_iters):
        t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = get_lr(it)
        x, y = get_batch("train")
        logits = fwd(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), 1.0)
        opt.step()
        times.append((time.perf_counter() - t0) * 1000)
    total = time.time() - start

    with torch.no_grad():
        losses = {}
        for split in ("train", "val"):
            ls = []
            for _ in range(a.eval_iters):
                x, y = get_batch(split)
                logits = fwd(x)
                ls.append(F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1)).item())
            losses[split] = sum(ls) / len(ls)
    warm = times[min(50, len(times) // 2):]
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "iters": a.max_iters,
                      "ms_per_iter_median": round(statistics.median(warm), 2), "total_s": round(total, 1),
                      "train_loss": round(losses["train"], 4), "val_loss": round(losses["val"], 4)}))


if __name__ == "__main__":
    main()
