#!/usr/bin/env bash
# Runs a self-contained minigpt build (TorchBackend=external) on the libtorch of an existing PyTorch install.
#
#   scripts/minigpt-gpu.sh [--app DIR] <minigpt arguments...>
#   e.g. scripts/minigpt-gpu.sh --app out/minigpt train --config configs/shakespeare-char.json
#
# DIR defaults to out/minigpt, where the README's publish command puts the build. The Python used is
# $PYTHON, else python3.
set -euo pipefail

app="out/minigpt"
if [[ "${1:-}" == "--app" ]]; then app="$2"; shift 2; fi
python="${PYTHON:-python3}"

if [[ ! -x "$app/minigpt" ]]; then
  echo "error: no minigpt executable in $app; build it with:" >&2
  echo "  dotnet publish src/MiniGpt.Cli -c Release -r linux-x64 --self-contained -p:TorchBackend=external -o $app" >&2
  exit 1
fi
if ! torch_dir=$("$python" -c "import torch, os; print(os.path.dirname(torch.__file__))" 2>/dev/null); then
  echo "error: $python cannot import torch; install PyTorch with CUDA, or set PYTHON to a Python that has it" >&2
  exit 1
fi
lib="$torch_dir/lib"
if ! compgen -G "$lib/libtorch_cuda.so*" > /dev/null; then
  echo "error: no CUDA libtorch in $lib (libtorch_cuda.so is missing): this PyTorch is CPU-only." >&2
  echo "       Install a CUDA build of PyTorch, or use the cpu backend." >&2
  exit 1
fi
export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$app/minigpt" "$@"
