#!/usr/bin/env bash
# Runs the CUDA kernels of src/main/cuda/*.cu on the CPU, without a GPU or nvcc: each harness #includes the real .cu
# file under a host emulation of the CUDA features it uses, builds with g++ and checks the kernels' results against
# reference loops. A kernel change that breaks its emulated result fails this script (exit 1). docs/gpu.md,
# "Developing the CUDA kernels", lists which kernels are covered.
#
#   scripts/cuda-emu-check.sh        (.ci/run calls it; exit 3 = no g++, nothing checked)
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${CXX:-g++}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "cuda-emu: $CXX not on PATH: the kernel emulation is not checked"
  exit 3
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# name | flags | harness. -ffp-contract=off: the references round every product and sum as the kernels do.
harnesses=(
  "gemm|-std=c++20 -O1 -pthread|src/test/cuda/gemm_emulation.cpp"
  "activation+sparse|-std=c++20 -O1 -ffp-contract=off -pthread|src/test/cuda-emu/emu_check.cpp"
  "core|-std=c++20 -O1 -ffp-contract=off -pthread|src/test/cuda-emu/core_check.cpp"
)
failed=()
for h in "${harnesses[@]}"; do
  IFS='|' read -r name flags src <<<"$h"
  bin=$work/${name//+/_}
  # shellcheck disable=SC2086 # flags is a list
  if ! "$CXX" $flags -o "$bin" "$src" 2>"$work/cc.log"; then
    head -20 "$work/cc.log"
    echo "cuda-emu: FAIL $name: $src does not compile against src/main/cuda"
    failed+=("$name")
    continue
  fi
  if "$bin" >"$work/out.txt" 2>&1; then
    echo "cuda-emu: ok   $name: $(tail -1 "$work/out.txt")"
  else
    grep -v '^ok ' "$work/out.txt" | head -10
    echo "cuda-emu: FAIL $name ($src)"
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "cuda-emu: failed: ${failed[*]}"
  exit 1
fi
echo "cuda-emu: every emulated kernel check passed"
