#!/usr/bin/env bash
# The GPU check: everything we want to know from one short loan of a GPU node, in one run that surely ends in
# under 10 minutes (a loan is 15 minutes, start-up included, and a rerun must still fit).
#
#   scripts/gpu-check.sh [--device cuda|cpu] [--small] [--out DIR] [DIST]
#
# DIST is the unpacked distribution (target/sae-train-<version>-linux-x86_64, the newest one there by default) or
# its .tar.gz (unpacked into the output folder first), run as DIST/bin/sae-train; without one, `java -jar target/sae-train.jar` when java is on the PATH. In order:
# nvidia-smi (-q and a one-line query), `sae-train selftest --device D --json`, scripts/train-resume-check.sh (train,
# SIGTERM at a checkpoint, resume), then per shape (d=768 x32 k=32
# and d=2304 x16 k=64, batch 4096) `sae-train bench` and scripts/bench/torch_step.py in fp32, tf32 and bf16
# (autocast) with the sparse decode, on random rows (no data to carry), then the summary: summary.md and
# summary.json in the output folder ($OUT when set, else gpu-check-out/), logs under logs/.
# --device cpu --small rehearses the whole thing on a CPU with small shapes (a few minutes on 2 cores).
#
# Every step runs under its own timeout (GPU_CHECK_T_<STEP> seconds, defaults below); a failed or timed-out step
# is recorded and the next one runs. Exit code: 0 when every step passed, 1 when any failed, 2 on bad usage.
# The targets (ours >= 1.5x PyTorch bf16, product >= 60 % of peak, step <= 1.3x product) are reported in the
# summary, not in the exit code: a miss there is a measurement, not a broken check.
set -uo pipefail # not -e: a failing step must not end the script
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

usage="usage: scripts/gpu-check.sh [--device cuda|cpu] [--small] [--out DIR] [DIST]"
die() { echo "gpu-check: $*" >&2; exit 2; }
DEVICE=cuda
SMALL=0
OUTDIR="${OUT:-gpu-check-out}"
DIST=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --device) [[ $# -ge 2 ]] || die "--device needs cuda or cpu; $usage"; DEVICE=$2; shift 2 ;;
        --small) SMALL=1; shift ;;
        --out) [[ $# -ge 2 ]] || die "--out needs a folder; $usage"; OUTDIR=$2; shift 2 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) die "unknown option $1; $usage" ;;
        *) [[ -z "$DIST" ]] || die "one DIST only (got $DIST and $1); $usage"; DIST=$1; shift ;;
    esac
done
[[ "$DEVICE" == cuda || "$DEVICE" == cpu ]] || die "--device must be cuda or cpu, got '$DEVICE'"

# A .tar.gz of the distribution (what travels best: the unpacked folder is larger) is unpacked next to the output.
if [[ "$DIST" == *.tar.gz ]]; then
    [[ -f "$DIST" ]] || die "no such file: $DIST"
    mkdir -p "$OUTDIR/dist" || die "cannot create $OUTDIR/dist"
    tar -xzf "$DIST" -C "$OUTDIR/dist" || die "cannot unpack $DIST into $OUTDIR/dist"
    DIST=$(ls -d "$OUTDIR"/dist/sae-train-*-linux-x86_64 2>/dev/null | tail -1)
    [[ -n "$DIST" ]] || die "$OUTDIR/dist holds no sae-train-*-linux-x86_64 folder after unpacking"
fi
# The launcher: the distribution's own (jlink runtime, nothing to install), else the jar with the system java.
if [[ -n "$DIST" ]]; then
    [[ -x "$DIST/bin/sae-train" ]] || die "no executable bin/sae-train in '$DIST' (unpack the distribution that \
\`mvn package\` writes to target/sae-train-<version>-linux-x86_64/ and pass that folder)"
    SAE=("$(cd "$DIST" && pwd)/bin/sae-train")
else
    found=""
    for d in target/sae-train-*-linux-x86_64; do
        [[ -x "$d/bin/sae-train" ]] && found="$d"
    done
    if [[ -n "$found" ]]; then
        SAE=("$ROOT/$found/bin/sae-train")
    elif command -v java >/dev/null && [[ -f target/sae-train.jar ]]; then
        SAE=(java -jar "$ROOT/target/sae-train.jar")
    else
        die "no distribution (target/sae-train-*-linux-x86_64/bin/sae-train) and no java with target/sae-train.jar: \
run \`mvn package\` and carry target/sae-train-<version>-linux-x86_64/, or pass its folder"
    fi
fi
echo "gpu-check: sae-train is: ${SAE[*]}" >&2

# Python: $PY, else the first python3 that has torch (PATH's, then the system's: a node's PyTorch may live in either),
# else any python3 (the summary needs only the standard library; the PyTorch steps then fail and say why).
has_torch() { "$1" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("torch") is None)' 2>/dev/null; }
if [[ -z "${PY:-}" ]]; then
    for c in "$(command -v python3)" /usr/bin/python3; do
        if [[ -n "$c" && -x "$c" ]] && has_torch "$c"; then PY=$c; break; fi
    done
fi
if [[ -z "${PY:-}" ]]; then
    PY="$(command -v python3 || command -v /usr/bin/python3)" || die "no python3 (the summary and the PyTorch peer \
need Python 3; the peer also numpy and torch)"
    echo "gpu-check: no python3 with torch found; the PyTorch steps will fail" >&2
fi
echo "gpu-check: python is: $PY" >&2

# Shapes: "d expansion k". The GPU's: the issue's two; the rehearsal's: small enough for 2 shared CPU cores.
if [[ $SMALL == 1 ]]; then
    SHAPES=("128 8 16" "192 8 32"); BATCH=1024; STEPS=5
else
    SHAPES=("768 32 32" "2304 16 64"); BATCH=4096; STEPS=20
fi
THREADS=()
TORCH_THREADS=()
if [[ $DEVICE == cpu ]]; then
    THREADS=(--threads "${THREADS_N:-2}")
    TORCH_THREADS=(--threads "${THREADS_N:-2}")
fi

# Timeouts in seconds, each overridable. With 5 s of grace per step (SIGTERM, then SIGKILL) the worst case, every
# step hanging, is 10+10+120+45+2*60+6*30+20 = 505 s + 12*5 s = 565 s: under 10 minutes. A step that fails fast costs
# its seconds only. The selftest runs first, so that the driver's PTX JIT cache is warm for the benches.
T_SMI="${GPU_CHECK_T_SMI:-10}"
T_SELFTEST="${GPU_CHECK_T_SELFTEST:-120}"
T_BENCH="${GPU_CHECK_T_BENCH:-60}"
T_TORCH="${GPU_CHECK_T_TORCH:-30}"
# A loaded 2-core machine runs the quick selftest in about a minute: the rehearsal's limit is wider.
[[ $DEVICE == cpu && -z "${GPU_CHECK_T_SELFTEST:-}" ]] && T_SELFTEST=300
# A CPU has no bf16 matmul units: PyTorch's bf16 step there is several times its fp32 one (the rehearsal only).
[[ $DEVICE == cpu && -z "${GPU_CHECK_T_TORCH:-}" ]] && T_TORCH=90
T_RESUME="${GPU_CHECK_T_RESUME:-45}"
[[ $DEVICE == cpu && -z "${GPU_CHECK_T_RESUME:-}" ]] && T_RESUME=300
T_SUMMARY="${GPU_CHECK_T_SUMMARY:-20}"
GRACE=5

mkdir -p "$OUTDIR/logs" || die "cannot create $OUTDIR/logs"
OUTDIR="$(cd "$OUTDIR" && pwd)"
# Only what this script writes: a previous run's files must not pass for this run's.
rm -f "$OUTDIR"/{steps.tsv,meta.txt,selftest.json,summary.md,summary.json} "$OUTDIR"/logs/gpu-samples.csv \
    "$OUTDIR"/logs/{nvidia-smi,nvidia-smi-query,selftest,train-resume,bench-d*,torch-d*}.{out,err}
START=$(date +%s)
{
    echo "device=$DEVICE"
    echo "small=$SMALL"
    echo "launcher=${SAE[*]}"
    echo "batch=$BATCH"
    echo "steps=$STEPS"
    echo "shapes=$(IFS=,; echo "${SHAPES[*]}")"
    echo "started=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host=$(hostname)"
    echo "timeouts=nvidia-smi $T_SMI, selftest $T_SELFTEST, train-resume $T_RESUME, bench $T_BENCH, torch $T_TORCH, summary $T_SUMMARY" \
        "(+${GRACE}s grace each)"
} > "$OUTDIR/meta.txt"

# step NAME TIMEOUT CMD...: runs CMD with stdout/stderr in logs/NAME.{out,err}, appends a line to steps.tsv.
step() {
    local name=$1 t=$2
    shift 2
    echo "[$(date +%T)] $name (timeout ${t}s): $*" >&2
    local t0 rc status secs
    t0=$(date +%s.%N)
    timeout --kill-after="$GRACE" "$t" "$@" > "$OUTDIR/logs/$name.out" 2> "$OUTDIR/logs/$name.err"
    rc=$?
    secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    case $rc in
        0) status=ok ;;
        124|137) status=timeout ;;
        *) status=failed ;;
    esac
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$secs" "$t" >> "$OUTDIR/steps.tsv"
    echo "    $status (exit $rc, ${secs}s)" >&2
    if [[ $status != ok ]]; then
        tail -n 3 "$OUTDIR/logs/$name.err" | sed 's/^/    | /' >&2
    fi
}
skip() { # NAME WHY: a step that does not apply here (not a failure)
    printf '%s\tskipped\t-\t0\t-\t%s\n' "$1" "$2" >> "$OUTDIR/steps.tsv"
    echo "[$(date +%T)] $1 skipped: $2" >&2
}

SAMPLER=""
stop_sampler() {
    if [[ -n "$SAMPLER" ]]; then
        kill "$SAMPLER" 2>/dev/null
        wait "$SAMPLER" 2>/dev/null
        SAMPLER=""
    fi
}
trap stop_sampler EXIT

if command -v nvidia-smi >/dev/null; then
    step nvidia-smi "$T_SMI" nvidia-smi -q
    step nvidia-smi-query "$T_SMI" nvidia-smi --format=csv \
        --query-gpu=name,driver_version,pstate,clocks.sm,clocks.mem,clocks.max.sm,clocks.max.mem,power.limit,memory.total
elif [[ $DEVICE == cuda ]]; then
    step nvidia-smi "$T_SMI" nvidia-smi -q # records the failure: no nvidia-smi on a GPU node is worth knowing
else
    skip nvidia-smi "no nvidia-smi on this machine (--device cpu)"
fi

QUICK=()
[[ $SMALL == 1 ]] && QUICK=(--quick)
step selftest "$T_SELFTEST" "${SAE[@]}" selftest --device "$DEVICE" "${QUICK[@]}" --json "$OUTDIR/selftest.json"

# Clocks, power and temperature twice a second while the benches run: a throttled GPU explains a low number.
if [[ $DEVICE == cuda ]] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --format=csv,noheader,nounits -lms 500 \
        --query-gpu=clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu \
        > "$OUTDIR/logs/gpu-samples.csv" 2>/dev/null &
    SAMPLER=$!
fi

# Train, stop with SIGTERM at a checkpoint, resume: a run on this device loses nothing (scripts/train-resume-check.sh).
step train-resume "$T_RESUME" scripts/train-resume-check.sh "$DEVICE" "$OUTDIR/train-resume" "${SAE[@]}"

for shape in "${SHAPES[@]}"; do
    read -r d x k <<< "$shape"
    step "bench-d$d" "$T_BENCH" "${SAE[@]}" bench --device "$DEVICE" --arch topk --d "$d" --expansion "$x" --k "$k" \
        --batch "$BATCH" --steps "$STEPS" "${THREADS[@]}"
    for dtype in fp32 tf32 bf16; do
        step "torch-d$d-$dtype" "$T_TORCH" "$PY" scripts/bench/torch_step.py --d "$d" --expansion "$x" --k "$k" \
            --batch "$BATCH" --steps "$STEPS" --device "$DEVICE" --dtype "$dtype" --decode sparse "${TORCH_THREADS[@]}"
    done
done
stop_sampler

echo "wall_s=$(( $(date +%s) - START ))" >> "$OUTDIR/meta.txt"
if timeout --kill-after="$GRACE" "$T_SUMMARY" "$PY" scripts/gpu_check_summary.py "$OUTDIR"; then
    echo "gpu-check: summary in $OUTDIR/summary.md and $OUTDIR/summary.json" >&2
else
    echo "gpu-check: the summary failed (exit $?); the steps were:" >&2
    cat "$OUTDIR/steps.tsv" >&2
    exit 1
fi
FAILED="$(awk -F'\t' '$2 == "failed" || $2 == "timeout" { printf "%s ", $1 }' "$OUTDIR/steps.tsv")"
if [[ -n "$FAILED" ]]; then
    echo "gpu-check: FAILED steps: $FAILED(see $OUTDIR/summary.md and $OUTDIR/logs/)" >&2
    exit 1
fi
echo "gpu-check: all steps passed" >&2
