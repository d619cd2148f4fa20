#!/usr/bin/env bash
# sae-train bench against PyTorch eager peers, side by side, on this machine's CPU.
#
#   scripts/bench/compare.sh                 # SHARDS=/tmp/b512 STEPS=20 THREADS=2 by default
#
# Builds target/sae-train.jar when missing, writes synthetic shards (d=512) when SHARDS has none, then for
# topk (k=32) and relu at d=512, x16, batch 4096 runs `sae-train bench` and each peer one after the other:
# scripts/bench/torch_step.py (our step in plain PyTorch, this repository) and, when PEER=FILE names one, another
# PyTorch trainer's step script that takes the same arguments (SHARD_DIR --arch --k --batch --threads --steps, one
# JSON line with tokens_per_s). Every process gets the same OPENBLAS_CORETYPE and thread count. Prints a markdown
# table.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SHARDS="${SHARDS:-/tmp/b512}"
STEPS="${STEPS:-20}"
THREADS="${THREADS:-2}"
PY="${PY:-/usr/bin/python3}"
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"
export OMP_NUM_THREADS="$THREADS"
JAR="$ROOT/target/sae-train.jar"
REF="${PEER:-}"

if [[ ! -f "$JAR" ]]; then
    echo "building $JAR" >&2
    mvn -q -B -o package -DskipTests >&2
fi
if ! compgen -G "$SHARDS/*.npy" >/dev/null; then
    echo "writing shards to $SHARDS" >&2
    java -jar "$JAR" synth "$SHARDS" --d 512 --features 2048 --rows 262144 --rows-per-shard 262144 >&2
    rm -f "$SHARDS/ground_truth.npy"
fi

tps() { # the tokens_per_s of the last JSON line on stdin
    "$PY" -c 'import json,sys; print([json.loads(l) for l in sys.stdin if l.startswith("{")][-1]["tokens_per_s"])'
}

ours() { # arch [extra bench options]
    local arch=$1
    shift
    java -jar "$JAR" bench --arch "$arch" --d 512 --expansion 16 --k 32 --batch 4096 --threads "$THREADS" \
        --steps "$STEPS" "$@" 2>/dev/null | tps
}

MODEL="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
CORES="$(nproc)"
ROWS=()
# relu three times: from the random init (half the latents fire: our dense path), with --l0 512 (the encoder bias
# set so ~400 of 8192 latents fire per row, ~5 %: below the 1/16 switch, our sparse path) and with --l0 64 (~80 per
# row: the regime a relu run settles in). The peers' relu step is dense whatever the density, so their tokens/s are
# the same in each; they are measured again beside each.
for case in "topk" "relu" "relu --l0 512" "relu --l0 64"; do
    read -r -a args <<< "$case"
    arch=${args[0]}
    peers=("$ROOT/scripts/bench/torch_step.py")
    [[ -n "$REF" ]] && peers+=("$(cd "$(dirname "$REF")" && pwd)/$(basename "$REF")")
    for peer in "${peers[@]}"; do
        echo "$case: sae-train bench, then $peer" >&2
        o="$(ours "${args[@]}")"
        p="$("$PY" "$peer" "$SHARDS" --arch "$arch" --k 32 --batch 4096 --threads "$THREADS" \
            --steps "$STEPS" 2>/dev/null | tps)"
        r="$("$PY" -c "print(f'{$o / $p:.2f}x')")"
        ROWS+=("| $MODEL, $CORES cores | \`sae-train bench --arch $case\` vs \`$(basename "$peer") --arch $arch\` | $p | $o | $r |")
    done
done

echo
echo "d=512, x16 (8192 latents), batch 4096, k=32, $THREADS threads, $STEPS timed steps, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
echo
echo "| machine | command | peer tokens/s | ours tokens/s | ratio |"
echo "|---|---|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
