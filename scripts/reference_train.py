#!/usr/bin/env python3
"""A MiniGpt training config run in plain PyTorch, to time MiniGpt against on the same machine.

It reads the same JSON config as `minigpt train` (model shape, batch, schedule, AdamW groups, clipping,
dropout) and uses the same data split and nanoGPT's batch sampling, with the independent model in
reference_gpt.py (learned positions, as nanoGPT). It prints one JSON line: the median ms/iter after warm-up
(per window of --sync_every steps), the total seconds, and the train/val loss at the end (and every
--eval_interval, if given).

CPU, with Debian's PyTorch and OpenBLAS (Debian's build links the slow reference BLAS otherwise):
    apt-get install python3-torch libopenblas0-openmp
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp OMP_NUM_THREADS=2 \\
        /usr/bin/python3 scripts/reference_train.py --config configs/shakespeare-char-cpu.json
GPU (PyTorch 2.x), eager and compiled, bf16 autocast as nanoGPT:
    python3 scripts/reference_train.py --config configs/shakespeare-char.json --device cuda --dtype bfloat16 [--compile]
"""
import argparse
import contextlib
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
    ap.add_argument("--config", default="configs/shakespeare-char-cpu.json")
    ap.add_argument("--corpus", default="data/tinyshakespeare.txt")
    ap.add_argument("--max_iters", type=int, help="default: the config's")
    ap.add_argument("--eval_iters", type=int, help="default: the config's")
    ap.add_argument("--eval_interval", type=int, default=0, help="0: evaluate only at the end")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--sync_every", type=int, default=1,
                    help="steps per timed window; the host waits for the device once per window, as minigpt bench --sync-every")
    a = ap.parse_args()
    c = json.load(open(a.config))
    max_iters = a.max_iters if a.max_iters is not None else c["max_iters"]
    eval_iters = a.eval_iters if a.eval_iters is not None else c.get("eval_iters", 20)
    if c.get("position_encoding", "learned") != "learned":
        print(f"note: the reference uses learned positions; the config asks for {c['position_encoding']}", file=sys.stderr)

    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    text = open(a.corpus, encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
    n = int(len(data) * 0.9)
    splits = {"train": data[:n], "val": data[n:]}
    cfg = dict(vocab_size=len(chars), block_size=c["block_size"], n_layer=c["n_layer"], n_head=c["n_head"],
               n_embd=c["n_embd"], bias=c.get("bias", False), dropout=c.get("dropout", 0.0))
    B, T = c["batch_size"], c["block_size"]
    lr, min_lr = c["learning_rate"], c["min_lr"]
    warmup, decay_iters = c["warmup_iters"], c["lr_decay_iters"]

    gen = torch.Generator().manual_seed(a.seed)
    params = init_params(dict(cfg, bias=True), gen)
    if not cfg["bias"]:   # nanoGPT's bias=False: no biases, LayerNorm gains start at 1
        params = {k: v for k, v in params.items() if not k.endswith(".bias")}
        with torch.no_grad():
            for k, v in params.items():
                if ".ln_" in k or k.startswith("ln_f"):
                    v.fill_(1.0)
    params = {k: v.detach().to(dev).requires_grad_(True) for k, v in params.items()}
    sdpa = hasattr(F, "scaled_dot_product_attention")

    def loss_fn(x, y, training):
        logits = forward(params, x, cfg, training=training, sdpa=sdpa)
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))

    step_loss = torch.compile(loss_fn) if a.compile else loss_fn
    autocast = (torch.autocast(device_type=dev.type, dtype=torch.bfloat16) if a.dtype == "bfloat16"
                else contextlib.nullcontext())
    decay = [v for v in params.values() if v.dim() >= 2]
    no_decay = [v for v in params.values() if v.dim() < 2]
    extra = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": c.get("weight_decay", 0.1)},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(c.get("beta1", 0.9), c.get("beta2", 0.99)), **extra)

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - T, (B,))
        x = torch.stack([d[i:i + T] for i in ix])
        y = torch.stack([d[i + 1:i + 1 + T] for i in ix])
        if dev.type == "cuda":   # as nanoGPT: page-locked, so the copy joins the queue instead of waiting for it
            x, y = x.pin_memory(), y.pin_memory()
        return x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)

    def get_lr(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        if it > decay_iters:
            return min_lr
        r = (it - warmup) / (decay_iters - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr - min_lr)

    @torch.no_grad()
    def estimate():
        out = {}
        for split in ("train", "val"):
            ls = []
            for _ in range(eval_iters):
                x, y = get_batch(split)
                with autocast:
                    ls.append(step_loss(x, y, False).item())
            out[split] = round(sum(ls) / len(ls), 4)
        return out

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    times, evals = [], []   # times: ms per step, one entry per window of --sync_every steps
    start = time.time()
    t0, in_window = None, 0
    for it in range(max_iters):
        if a.eval_interval and it % a.eval_interval == 0:
            evals.append({"step": it, **estimate()})
            t0, in_window = None, 0   # a window never spans an evaluation
        if t0 is None:
            sync()
            t0 = time.perf_counter()
        for g in opt.param_groups:
            g["lr"] = get_lr(it)
        x, y = get_batch("train")
        with autocast:
            loss = step_loss(x, y, True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params.values(), c.get("grad_clip", 1.0))
        opt.step()
        in_window += 1
        if in_window == a.sync_every:
            sync()
            times.append((time.perf_counter() - t0) * 1000 / in_window)
            t0, in_window = None, 0
    total = time.time() - start
    final = estimate()
    evals.append({"step": max_iters, **final})
    warm = times[min(50 // a.sync_every, len(times) // 2):] or times   # past the first ~50 steps
    print(json.dumps({"impl": "pytorch" + ("-compile" if a.compile else "-eager"), "torch": torch.__version__,
                      "device": str(dev), "dtype": a.dtype, "sdpa": sdpa, "threads": torch.get_num_threads(),
                      "iters": max_iters, "sync_every": a.sync_every, "ms_per_iter_median": round(statistics.median(warm), 2),
                      "total_s": round(total, 1), "train_loss": final["train"], "val_loss": final["val"],
                      "evals": evals}))


if __name__ == "__main__":
    main()
