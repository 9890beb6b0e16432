#!/usr/bin/env bash
# The side-by-side comparison of docs/benchmarks.md, in one run on one machine:
#   1. minigpt bench: each step timed alone, then windows of 10 steps with one host sync each;
#   2. the PyTorch reference (scripts/reference_train.py, same config and model) eager, then torch.compile,
#      timed the same two ways, with bf16 autocast as nanoGPT;
#   3. a full minigpt train of the config, its loss curves plotted to PNG.
# Every JSON document and log is kept in --out; a summary is printed at the end.
#
#   scripts/compare-gpu.sh [--app DIR] [--out DIR] [--config FILE] [--device cuda|cpu] [--iters N] [--no-compile] [--no-train]
#
# --app is a self-contained build (see the README); it runs through scripts/minigpt-gpu.sh on CUDA.
# --device cpu (with a small config and --no-compile) rehearses the whole script on a machine without a GPU.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="out/minigpt"; out="out/compare-gpu"; config="configs/shakespeare-char.json"; device="cuda"
iters=200; compile=1; train=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --app) app="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    --no-compile) compile=0; shift ;;
    --no-train) train=0; shift ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
python="${PYTHON:-python3}"
[[ -f "$config" ]] || { echo "error: no config $config" >&2; exit 2; }
mkdir -p "$out"

minigpt() {
  if [[ "$device" == "cuda" ]]; then "$here/minigpt-gpu.sh" --app "$app" "$@"; else "$app/minigpt" "$@"; fi
}

dtype=$([[ "$device" == "cuda" ]] && echo bfloat16 || echo float32)
[[ "$device" == "cuda" ]] && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$out/gpu.csv"

for sync in 1 10; do
  echo "== minigpt bench, sync every $sync"
  minigpt bench --config "$config" --device "$device" --dtype "$dtype" --iters "$iters" --warmup 20 --sync-every "$sync" \
    | tee "$out/minigpt-bench-sync$sync.json"
done

modes=("")
[[ "$compile" == 1 ]] && modes+=("--compile")
for mode in "${modes[@]}"; do
  name=$([[ -n "$mode" ]] && echo compile || echo eager)
  for sync in 1 10; do
    echo "== PyTorch reference, $name, sync every $sync"
    "$python" "$here/reference_train.py" --config "$config" --device "$device" --dtype "$dtype" --max_iters "$iters" \
      --eval_iters 1 --sync_every "$sync" $mode | tee "$out/reference-$name-sync$sync.json"
  done
done

if [[ "$train" == 1 ]]; then
  echo "== minigpt train"
  minigpt train --config "$config" --device "$device" --out_dir "$out/train" 2>&1 | tee "$out/train.log"
  minigpt plot --run "$out/train" --out "$out/loss.png"
fi

"$python" - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    j = json.load(open(f))
    ms = j.get("ms_per_iter", j.get("ms_per_iter_median"))
    rows.append((os.path.basename(f)[:-5], ms, j.get("sync_every"), j.get("memory_bytes")))
compiled = {r[2]: r[1] for r in rows if r[0].startswith("reference-compile")}
eager = {r[2]: r[1] for r in rows if r[0].startswith("reference-eager")}
ratio = lambda ms, base, sync: f"{ms / base[sync]:.2f}x" if base.get(sync) else "-"
print(f"{'run':28} {'ms/iter':>9} {'vs eager':>9} {'vs compiled':>12}")
for name, ms, sync, mem in rows:
    print(f"{name:28} {ms:9.2f} {ratio(ms, eager, sync):>9} {ratio(ms, compiled, sync):>12}"
          + (f"   memory {mem / 2**30:.1f} GiB" if mem else ""))
metrics = os.path.join(out, "train", "metrics.jsonl")
if os.path.exists(metrics):
    evals = [json.loads(l) for l in open(metrics) if '"val_loss"' in l]
    best = min(evals, key=lambda e: e["val_loss"])
    print(f"train: best val loss {best['val_loss']:.4f} at step {best['step']}; "
          f"curve: " + ", ".join(f"{e['step']}:{e['val_loss']:.3f}" for e in evals))
PY
