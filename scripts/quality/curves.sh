#!/usr/bin/env bash
# The quality curves of docs/performance.md at the shape of the original comparison (expansion 16, batch 4096; topk
# k = 32 at its default LR, relu at lambda 5 and LR 5e-5), ours with its defaults beside the PyTorch peer (the plain
# loop, scripts/quality/torch_quality.py), at several lengths, on one machine:
#
#   scripts/quality/curves.sh TRAIN_DIR TEST_DIR OUT_DIR [--device cpu|cuda] [--steps 250,1000,4000,16000]
#                             [--arch topk,relu] [--threads N]
#
# ours: one run per length (scripts/quality/ours.sh: the jar of SAE_TRAIN_JAR, or the distribution's launcher given
# as SAE_TRAIN=DIST/bin/sae-train). The peer: topk in one run to the longest length that scores the shorter ones on
# the way (its schedule does not depend on the length); relu one run per length (its lambda warm-up is 5 % of the run).
# Each point is one JSON line appended to OUT_DIR/results.jsonl with "name" (series@steps, the series of
# docs/quality/minilm-l6.jsonl: x16-ours-default, x16-peer, x16-relu-ours-default, x16-relu-peer) and "cmd". The relu
# peer scales its inputs as ours does (--normalize sqrt-d --init-rows first: the same factor, so the same lambda).
# A point already in results.jsonl is not run again, so a stopped invocation goes on where it stopped. Logs are in
# OUT_DIR/logs/. Exit code: 0 when every point is in results.jsonl, 1 when one failed (the others still run), 2 on bad
# usage. PYTHON names the Python that has PyTorch and numpy (default: python3).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
usage="usage: scripts/quality/curves.sh TRAIN_DIR TEST_DIR OUT_DIR [--device cpu|cuda] [--steps 250,1000,4000,16000] \
[--arch topk,relu] [--threads N]"
die() { echo "curves: $*" >&2; exit 2; }
[[ $# -ge 3 ]] || die "$usage"
TRAIN=$1 TEST=$2 OUT=$3; shift 3
DEVICE=cpu STEPS=250,1000,4000,16000 ARCHS=topk,relu THREADS=""
while [[ $# -gt 0 ]]; do
    [[ $# -ge 2 ]] || die "$1 needs a value; $usage"
    case "$1" in
        --device) DEVICE=$2 ;;
        --steps) STEPS=$2 ;;
        --arch) ARCHS=$2 ;;
        --threads) THREADS=$2 ;;
        *) die "unknown option $1; $usage" ;;
    esac
    shift 2
done
[[ $DEVICE == cpu || $DEVICE == cuda ]] || die "--device must be cpu or cuda, got '$DEVICE'"
[[ $STEPS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--steps must be step counts such as 250,1000, got '$STEPS'"
[[ $ARCHS =~ ^(topk|relu)(,(topk|relu))*$ ]] || die "--arch must be topk, relu or both, got '$ARCHS'"
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]*$ ]] || die "--threads must be a number >= 1, got '$THREADS'"
[[ -d $TRAIN && -d $TEST ]] || die "TRAIN_DIR and TEST_DIR must be shard folders (scripts/quality/make-activations.sh)"
mkdir -p "$OUT/logs" "$OUT/runs" || die "cannot create $OUT/logs and $OUT/runs"
RESULTS=$OUT/results.jsonl
touch "$RESULTS"
IFS=, read -r -a LENGTHS <<<"$(tr , '\n' <<<"$STEPS" | sort -n | uniq | paste -sd,)"
LONGEST=${LENGTHS[-1]}
BATCH=4096
PY=${PYTHON:-python3}
"$PY" -c "import torch, numpy" 2>/dev/null || die "$PY has no torch or numpy; set PYTHON to a Python that has both"
OURS_THREADS=(); [[ -n $THREADS ]] && OURS_THREADS=(--threads "$THREADS")
PEER_THREADS=(--threads "${THREADS:-2}")
failed=0

have() { grep -q "\"name\": \"$1\"" "$RESULTS"; }

# Adds name and cmd to the JSON lines on stdin (one per point, in order of steps) and appends them to results.jsonl.
record() { # SERIES CMD
    python3 -c '
import json, sys
series, cmd, out = sys.argv[1:4]
with open(out, "a") as f:
    for line in sys.stdin:
        if line.strip():
            d = json.loads(line)
            steps = d.get("steps") or d["tokens"] // d["batch"]
            d["name"], d["cmd"] = f"{series}@{steps}", cmd
            f.write(json.dumps(d) + "\n")
            print(d["name"], d["test_fvu"], d["test_l0"], file=sys.stderr)
' "$1" "$2" "$RESULTS"
}

ours() { # SERIES STEPS [train options]
    local series=$1 steps=$2; shift 2
    have "$series@$steps" && return 0
    local dir=$OUT/runs/$series@$steps
    rm -rf "$dir" "$dir".*.log
    local args=(--batch $BATCH --tokens $((steps * BATCH)) --device "$DEVICE" "${OURS_THREADS[@]}" "$@")
    local cmd="scripts/quality/ours.sh TRAIN TEST OUT ${args[*]}"
    echo "== $series@$steps $(date -u +%T): $cmd" >&2
    if "$ROOT/scripts/quality/ours.sh" "$TRAIN" "$TEST" "$dir" "${args[@]}" >"$OUT/logs/$series@$steps.jsonl" \
        2>"$OUT/logs/$series@$steps.err"; then
        python3 -c 'import json, sys; [print(json.dumps(dict(json.loads(l), batch=int(sys.argv[1])))) for l in sys.stdin if l.strip()]' \
            $BATCH <"$OUT/logs/$series@$steps.jsonl" | record "$series" "$cmd"
    else
        echo "curves: $series@$steps failed, see $OUT/logs/$series@$steps.err" >&2
        failed=1
    fi
}

peer() { # SERIES STEPS EVAL_AT [torch_quality options]
    local series=$1 steps=$2 eval_at=$3; shift 3
    have "$series@$steps" && return 0
    local args=(--expansion 16 --batch $BATCH --steps "$steps" --device "$DEVICE" "${PEER_THREADS[@]}" "$@")
    [[ -n $eval_at ]] && args+=(--eval-at "$eval_at")
    local cmd="python3 scripts/quality/torch_quality.py TRAIN TEST ${args[*]}"
    echo "== $series@$steps $(date -u +%T): $cmd" >&2
    if "$PY" "$ROOT/scripts/quality/torch_quality.py" "$TRAIN" "$TEST" "${args[@]}" \
        >"$OUT/logs/$series@$steps.jsonl" 2>"$OUT/logs/$series@$steps.err"; then
        # Points scored on the way that are already recorded are left as they are.
        python3 -c '
import json, sys
have = {json.loads(l)["name"] for l in open(sys.argv[2]) if l.strip()}
for l in sys.stdin:
    if l.strip() and sys.argv[1] + "@" + str(json.loads(l)["steps"]) not in have:
        print(l.strip())
' "$series" "$RESULTS" <"$OUT/logs/$series@$steps.jsonl" | record "$series" "$cmd"
    else
        echo "curves: $series@$steps failed, see $OUT/logs/$series@$steps.err" >&2
        failed=1
    fi
}

for arch in ${ARCHS//,/ }; do
    if [[ $arch == topk ]]; then
        for s in "${LENGTHS[@]}"; do
            ours x16-ours-default "$s" --expansion 16 --k 32
        done
        shorter=$(printf '%s\n' "${LENGTHS[@]}" | grep -vx "$LONGEST" | paste -sd,)
        peer x16-peer "$LONGEST" "$shorter"
    else
        for s in "${LENGTHS[@]}"; do
            ours x16-relu-ours-default "$s" --arch relu --expansion 16
            peer x16-relu-peer "$s" "" --arch relu --normalize sqrt-d --init-rows first
        done
    fi
done
echo "curves: results in $RESULTS" >&2
exit $failed
