#!/usr/bin/env python3
"""Golden fixtures for MiniGpt's Hugging Face GPT-2 import and export (tests/MiniGpt.Tests/Formats).

import OUT_DIR: writes a small GPT-2 the way transformers' GPT2LMHeadModel keeps it: the four projections as
Conv1D, whose weights are stored (in, out); biases everywhere; tanh GELU (gelu_new); an MLP width and a
LayerNorm epsilon that are not the defaults; the attn.bias mask buffers; no lm_head (tied to wte). The
few lines of write_safetensors save it, with config.json and a GPT-2 style vocab.json + merges.txt, and
golden.bin holds one batch's logits and loss computed from that layout (hf_forward), independently of MiniGpt.

export EXPORT_DIR OUT_FILE: reads a folder MiniGpt exported (read_safetensors, config.json) and writes the
logits hf_forward computes from it for the tokens in EXPORT_DIR/tokens.json, for MiniGpt to compare with its own.
The golden export is regenerated with
    MINIGPT_UPDATE_GOLDEN_EXPORT=$PWD/tests/MiniGpt.Tests/Fixtures/minigpt_export \
        dotnet test tests/MiniGpt.Tests --filter "FullyQualifiedName~Export_ReadBackByTheReference"
    /usr/bin/python3 scripts/make_hf_fixtures.py export tests/MiniGpt.Tests/Fixtures/minigpt_export \
        tests/MiniGpt.Tests/Fixtures/minigpt_export/golden.bin

gpt2-size OUT_DIR: a folder the size of GPT-2 small (124M parameters, float32, mask buffers included, about
548 MB like openai-community/gpt2's), random weights and a synthetic 50257-token vocabulary, for the import benchmark.

Run with Debian's PyTorch (apt-get install python3-torch):
    /usr/bin/python3 scripts/make_hf_fixtures.py import tests/MiniGpt.Tests/Fixtures/hf_gpt2_tiny
Golden files use make_golden_fixture.py's layout (b"MGPTGOLD", header length, JSON header, float32 data).
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": (torch.float32, 4), "F16": (torch.float16, 2), "BF16": (torch.bfloat16, 2)}


def write_safetensors(path, tensors):
    """safetensors: u64 header length, JSON header (padded with spaces to 8 bytes), then the data."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hb = json.dumps(header).encode("utf-8")
    hb += b" " * (-(8 + len(hb)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)) + hb + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype, size = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        raw = bytearray(data[b:end])
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).to(torch.float32)
    return out


def gelu(x, activation):
    if activation == "gelu":
        return F.gelu(x)
    # transformers' NewGELUActivation, written out.
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def hf_forward(sd, idx, cfg):
    """GPT2LMHeadModel's forward in eval mode from its own state dict (Conv1D: y = x W + b, W stored (in, out))."""
    sd = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in sd.items()}
    B, T = idx.shape
    C, nh, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    hs = C // nh
    conv1d = lambda x, n: torch.addmm(sd[n + ".bias"], x.reshape(-1, x.size(-1)), sd[n + ".weight"]).view(B, T, -1)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = sd["wte.weight"][idx] + sd["wpe.weight"][:T]
    for l in range(cfg["n_layer"]):
        h = f"h.{l}."
        a = F.layer_norm(x, (C,), sd[h + "ln_1.weight"], sd[h + "ln_1.bias"], eps)
        q, k, v = conv1d(a, h + "attn.c_attn").split(C, dim=2)
        q, k, v = (t.view(B, T, nh, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = torch.softmax(att.masked_fill(~mask, torch.finfo(att.dtype).min), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv1d(y, h + "attn.c_proj")
        m = F.layer_norm(x, (C,), sd[h + "ln_2.weight"], sd[h + "ln_2.bias"], eps)
        x = x + conv1d(gelu(conv1d(m, h + "mlp.c_fc"), cfg["activation_function"]), h + "mlp.c_proj")
    x = F.layer_norm(x, (C,), sd["ln_f.weight"], sd["ln_f.bias"], eps)
    return x @ sd["wte.weight"].T


def write_golden(path, header, tensors):
    entries, blobs, offset = [], [], 0
    for name, t in tensors:
        flat = t.detach().contiguous().view(-1).to(torch.float32)
        entries.append({"name": name, "shape": list(t.shape), "offset": offset})
        blobs.append(struct.pack(f"<{flat.numel()}f", *flat.tolist()))
        offset += flat.numel()
    hb = json.dumps(dict(header, tensors=entries, torch_version=torch.__version__)).encode("utf-8")
    with open(path, "wb") as f:
        f.write(b"MGPTGOLD" + struct.pack("<I", len(hb)) + hb + b"".join(blobs))


def bytes_to_unicode():
    """GPT-2's byte ↔ printable character table (openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_folder(out_dir, sd, cfg, vocab, merges):
    """A Hugging Face GPT-2 folder: weights, config.json, and the tokenizer as vocab.json + merges.txt."""
    write_safetensors(os.path.join(out_dir, "model.safetensors"), sd)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(m + "\n" for m in merges))


MERGES = ["Ġ t", "h e", "Ġt he", "i n", "e r", "Ġ a", "o n", "r e", "Ġ s", "o u"]


def make_import(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    vocab = {c: i for i, c in enumerate(bytes_to_unicode())}
    for m in MERGES:
        vocab[m.replace(" ", "")] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    cfg = dict(architectures=["GPT2LMHeadModel"], model_type="gpt2", vocab_size=len(vocab), n_positions=24, n_ctx=24,
               n_embd=32, n_layer=2, n_head=4, n_inner=80, activation_function="gelu_new", layer_norm_epsilon=1e-4,
               resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1, initializer_range=0.02, bos_token_id=len(vocab) - 1,
               eos_token_id=len(vocab) - 1, scale_attn_weights=True, tie_word_embeddings=True)
    gen = torch.Generator().manual_seed(2024)
    rnd = lambda *shape, std=0.02: torch.randn(*shape, generator=gen) * std
    C, I, P, V = cfg["n_embd"], cfg["n_inner"], cfg["n_positions"], cfg["vocab_size"]
    sd = {"wte.weight": rnd(V, C), "wpe.weight": rnd(P, C, std=0.1)}
    for l in range(cfg["n_layer"]):
        h = f"h.{l}."
        sd[h + "ln_1.weight"] = 1 + rnd(C, std=0.1)
        sd[h + "ln_1.bias"] = rnd(C, std=0.1)
        sd[h + "attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)   # the mask buffer old checkpoints hold
        sd[h + "attn.c_attn.weight"] = rnd(C, 3 * C, std=0.1)                  # Conv1D: (in, out)
        sd[h + "attn.c_attn.bias"] = rnd(3 * C, std=0.1)
        sd[h + "attn.c_proj.weight"] = rnd(C, C, std=0.1)
        sd[h + "attn.c_proj.bias"] = rnd(C, std=0.1)
        sd[h + "ln_2.weight"] = 1 + rnd(C, std=0.1)
        sd[h + "ln_2.bias"] = rnd(C, std=0.1)
        sd[h + "mlp.c_fc.weight"] = rnd(C, I, std=0.1)
        sd[h + "mlp.c_fc.bias"] = rnd(I, std=0.1)
        sd[h + "mlp.c_proj.weight"] = rnd(I, C, std=0.1)
        sd[h + "mlp.c_proj.bias"] = rnd(C, std=0.1)
    sd["ln_f.weight"] = 1 + rnd(C, std=0.1)
    sd["ln_f.bias"] = rnd(C, std=0.1)
    write_folder(out_dir, sd, cfg, vocab, MERGES)

    x = torch.randint(0, V, (2, 16), generator=gen)
    y = torch.randint(0, V, (2, 16), generator=gen)
    with torch.no_grad():
        logits = hf_forward(sd, x, cfg)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
    write_golden(os.path.join(out_dir, "golden.bin"), {"x": x.tolist(), "y": y.tolist(), "loss": loss.item()}, [("logits", logits)])
    print(f"wrote {out_dir}: loss {loss.item():.6f}, vocab {V}, torch {torch.__version__}")


def make_gpt2_size(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    vocab = {c: i for i, c in enumerate(bytes_to_unicode())}
    while len(vocab) < 50256:
        vocab[f"tok{len(vocab)}"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    cfg = dict(architectures=["GPT2LMHeadModel"], model_type="gpt2", vocab_size=50257, n_positions=1024, n_embd=768,
               n_layer=12, n_head=12, n_inner=None, activation_function="gelu_new", layer_norm_epsilon=1e-5)
    gen = torch.Generator().manual_seed(1)
    C, P = 768, 1024
    sd = {"wte.weight": torch.randn(50257, C, generator=gen) * 0.02, "wpe.weight": torch.randn(P, C, generator=gen) * 0.01}
    for l in range(12):
        h = f"h.{l}."
        sd.update({h + "ln_1.weight": torch.ones(C), h + "ln_1.bias": torch.zeros(C),
                   h + "attn.bias": torch.tril(torch.ones(P, P)).view(1, 1, P, P),
                   h + "attn.c_attn.weight": torch.randn(C, 3 * C, generator=gen) * 0.02, h + "attn.c_attn.bias": torch.zeros(3 * C),
                   h + "attn.c_proj.weight": torch.randn(C, C, generator=gen) * 0.02, h + "attn.c_proj.bias": torch.zeros(C),
                   h + "ln_2.weight": torch.ones(C), h + "ln_2.bias": torch.zeros(C),
                   h + "mlp.c_fc.weight": torch.randn(C, 4 * C, generator=gen) * 0.02, h + "mlp.c_fc.bias": torch.zeros(4 * C),
                   h + "mlp.c_proj.weight": torch.randn(4 * C, C, generator=gen) * 0.02, h + "mlp.c_proj.bias": torch.zeros(C)})
    sd["ln_f.weight"], sd["ln_f.bias"] = torch.ones(C), torch.zeros(C)
    write_folder(out_dir, sd, cfg, vocab, [])
    print(f"wrote {out_dir}: {sum(t.numel() for t in sd.values())} values")


def make_export(export_dir, out_file):
    with open(os.path.join(export_dir, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(export_dir, "tokens.json")) as f:
        x = torch.tensor(json.load(f))
    sd = read_safetensors(os.path.join(export_dir, "model.safetensors"))
    with torch.no_grad():
        logits = hf_forward(sd, x, cfg)
    write_golden(out_file, {"x": x.tolist()}, [("logits", logits)])
    print(f"wrote {out_file}: logits {tuple(logits.shape)} from {export_dir}, torch {torch.__version__}")


if __name__ == "__main__":
    if sys.argv[1] == "import":
        make_import(sys.argv[2])
    elif sys.argv[1] == "gpt2-size":
        make_gpt2_size(sys.argv[2])
    else:
        make_export(sys.argv[2], sys.argv[3])
