"""Times nanoGPT's sampling loop (model.generate, as sample.py calls it) on the weights of a MiniGpt export.

usage: python3 scripts/compare_nanogpt_sampling.py NANOGPT_DIR EXPORT_DIR [max_new_tokens] [rounds]

NANOGPT_DIR is a checkout of karpathy/nanoGPT (its model.py is imported); EXPORT_DIR is what
`minigpt export` wrote for a model nanoGPT can hold: learned positions, GELU, LayerNorm. The weights are read
from model.safetensors without the safetensors package, the Conv1D matrices transposed back as nanoGPT's
from_pretrained does, and sampling runs as in sample.py: no KV cache, temperature 0.8, top_k 200, from "\n".
Prints one JSON line: tokens/s of each round.
"""
import json, os, struct, sys, time

import torch

nanogpt, export = sys.argv[1], sys.argv[2]
max_new_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 500
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
sys.path.insert(0, nanogpt)
from model import GPT, GPTConfig  # noqa: E402

cfg = json.load(open(os.path.join(export, "config.json")))
with open(os.path.join(export, "model.safetensors"), "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
weights = {}
for name, t in header.items():
    if name == "__metadata__":
        continue
    start, end = t["data_offsets"]
    weights[name if name.startswith("transformer.") else "transformer." + name] = \
        torch.frombuffer(bytearray(data[start:end]), dtype=dtypes[t["dtype"]]).reshape(t["shape"]).float()

conf = GPTConfig(block_size=cfg["n_positions"], vocab_size=cfg["vocab_size"], n_layer=cfg["n_layer"],
                 n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=0.0, bias=True)
model = GPT(conf)
sd = model.state_dict()
conv1d = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
for k in sd:
    if k.endswith(".attn.bias") or k.endswith(".attn.masked_bias"):
        continue                      # nanoGPT's own causal mask buffer
    src = "transformer.wte.weight" if k == "lm_head.weight" else k
    w = weights[src]
    sd[k] = w.t() if k.endswith(conv1d) else w
model.load_state_dict(sd)
model.eval()

x = torch.zeros((1, 1), dtype=torch.long)   # "\n" is id 0 in a char vocabulary of Shakespeare; any id times the same
rates = []
with torch.no_grad():
    for r in range(rounds):
        torch.manual_seed(1337 + r)
        t0 = time.time()
        y = model.generate(x, max_new_tokens, temperature=0.8, top_k=200)
        rates.append(round(max_new_tokens / (time.time() - t0), 1))
print(json.dumps({"nanogpt_tokens_per_sec": rates, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "parameters": sum(p.numel() for p in model.parameters())}))
