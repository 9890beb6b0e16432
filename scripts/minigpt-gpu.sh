#!/usr/bin/env bash
# Runs a self-contained minigpt build (TorchBackend=external) on the libtorch of an existing PyTorch install,
# after checking everything the native library needs, so that a GPU box either trains or says why not.
#
#   scripts/minigpt-gpu.sh [--app DIR] <minigpt arguments...>
#   e.g. scripts/minigpt-gpu.sh --app out/minigpt train --config configs/shakespeare-char.json
#
# DIR defaults to out/minigpt, where the README's publish command puts the build. The Python used is
# $PYTHON, else python3. TorchSharp 0.107 binds libtorch 2.10's C++ operations by their mangled signatures:
# another PyTorch version, or one built with the pre-C++11 ABI, fails to load or dies (exit 127) at the first
# operation it lacks. MINIGPT_SKIP_TORCH_CHECK=1 skips the version and ABI checks, for those who know better.
set -euo pipefail

app="out/minigpt"
if [[ "${1:-}" == "--app" ]]; then app="$2"; shift 2; fi
python="${PYTHON:-python3}"
fail() { printf 'error: %s\n' "$1" >&2; shift; if [[ $# -gt 0 ]]; then printf '%s\n' "$@" >&2; fi; exit 1; }

[[ -x "$app/minigpt" ]] || fail "no minigpt executable in $app; build it with:" \
  "  dotnet publish src/MiniGpt.Cli -c Release -r linux-x64 --self-contained -p:TorchBackend=external -o $app"

# What torch is, and which CUDA libraries it loads: a pip wheel brings its own (nvidia/*/lib), which Python
# preloads but the .NET process does not; they must come before any other CUDA on the library path.
probe=$("$python" - 2>/dev/null <<'PY'
import os, torch
print("version=" + torch.__version__)
print("cxx11_abi=" + str(int(bool(torch._C._GLIBCXX_USE_CXX11_ABI))))
print("torch_lib=" + os.path.join(os.path.dirname(torch.__file__), "lib"))
cuda = torch.cuda.is_available()
print("cuda=" + str(int(cuda)))
if cuda:
    torch.cuda.init()
    dirs = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.rstrip("\n").split(" ")[-1]
            name = os.path.basename(path)
            driver = name.startswith(("libcuda.so", "libnvidia-"))
            if path.startswith("/") and ".so" in name and name.startswith(("libcu", "libnv", "libnccl")) and not driver:
                d = os.path.dirname(os.path.realpath(path))
                if d not in dirs:
                    dirs.append(d)
    print("cuda_libs=" + ":".join(dirs))
PY
) || fail "$python cannot import torch; install PyTorch 2.10 with CUDA (pip install 'torch==2.10.*'), or set PYTHON to a Python that has it"
field() { sed -n "s/^$1=//p" <<< "$probe"; }
version=$(field version); abi=$(field cxx11_abi); lib=$(field torch_lib); cuda=$(field cuda); cuda_libs=$(field cuda_libs)

if [[ "${MINIGPT_SKIP_TORCH_CHECK:-}" != 1 ]]; then
  [[ "$version" =~ ^2\.10(\.|\+|$) ]] || fail "PyTorch $version is installed; this MiniGpt needs libtorch 2.10 exactly (TorchSharp 0.107)." \
    "  Install it with: pip install 'torch==2.10.*'   (MINIGPT_SKIP_TORCH_CHECK=1 skips this check)"
  [[ "$abi" == 1 ]] || fail "PyTorch $version was built with the pre-C++11 ABI; TorchSharp needs a C++11-ABI libtorch." \
    "  Install a current wheel: pip install 'torch==2.10.*'   (MINIGPT_SKIP_TORCH_CHECK=1 skips this check)"
fi
[[ "$cuda" == 1 ]] || fail "torch.cuda.is_available() is False in $python: no GPU, no driver (see nvidia-smi), or a CPU-only PyTorch."
compgen -G "$lib/libtorch_cuda.so*" > /dev/null || fail "no CUDA libtorch in $lib (libtorch_cuda.so is missing): this PyTorch is CPU-only." \
  "  Install a CUDA build of PyTorch, or use the cpu backend."

export LD_LIBRARY_PATH="${cuda_libs:+$cuda_libs:}$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$app/minigpt" "$@"
