#!/usr/bin/env bash
# Train, stop, resume on one device: the check that a run on DEVICE loses nothing when it is stopped.
#
#   scripts/train-resume-check.sh DEVICE WORK_DIR SAE_TRAIN...
#
# SAE_TRAIN... is how to run sae-train (e.g. DIST/bin/sae-train, or java -jar target/sae-train.jar). In WORK_DIR:
# demo shards from `synth` (400,000 rows of d = 256), then two TopK runs over one epoch with a checkpoint every
# 40 steps: `full` uninterrupted, and `cut`, which holds after its first checkpoint (the SAE_TRAIN_HOLD_AFTER_CHECKPOINT
# test seam of the step loop), is stopped there with SIGTERM (it must exit 143), and is continued with
# `train --resume` (exit 0). Prints each run's final FVU and L0 and whether the dictionaries are bit-identical.
# The CPU's training is deterministic, so there the resumed dictionary must equal the uninterrupted one bit for bit.
# Elsewhere (CUDA: atomics decide the order of some sums) a second uninterrupted run `repeat` measures how far two
# runs of the same command drift apart; when it equals `full` bit for bit, the resumed run must too, and otherwise
# the resumed run's final FVU must be within max(2 %, twice the repeat's distance) of the uninterrupted one's.
# The shards are deleted at the end (the runs are kept).
# Exit 0 when every part worked, 1 otherwise. Used by scripts/gpu-check.sh (step `train-resume`).
set -uo pipefail
[[ $# -ge 3 ]] || { echo "usage: scripts/train-resume-check.sh DEVICE WORK_DIR SAE_TRAIN..." >&2; exit 2; }
DEVICE=$1; WORK=$2; shift 2
SAE=("$@")
fail() { echo "train-resume: FAIL: $*" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK" || fail "cannot create $WORK"
"${SAE[@]}" synth "$WORK/demo" --rows 400000 --d 256 >"$WORK/synth.log" 2>&1 || fail "synth failed (see $WORK/synth.log)"
COMMON=(train "$WORK/demo" --device "$DEVICE" --expansion 4 --k 8 --lr 2e-3 --batch 2048 --checkpoint-every 81920
        --out "$WORK/runs")
trap 'rm -rf "$WORK/demo"' EXIT
"${SAE[@]}" "${COMMON[@]}" --name full >"$WORK/full.out" 2>&1 || fail "the uninterrupted run failed (see $WORK/full.out)"
if [[ $DEVICE != cpu ]]; then
    "${SAE[@]}" "${COMMON[@]}" --name repeat >"$WORK/repeat.out" 2>&1 \
        || fail "the repeated uninterrupted run failed (see $WORK/repeat.out)"
fi

SAE_TRAIN_HOLD_AFTER_CHECKPOINT="$WORK/never-released" "${SAE[@]}" "${COMMON[@]}" --name cut >"$WORK/cut.out" 2>&1 &
pid=$!
for _ in $(seq 600); do
    grep -q "holding after the checkpoint" "$WORK/runs/cut/train.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
grep -q "holding after the checkpoint" "$WORK/runs/cut/train.log" 2>/dev/null \
    || { kill "$pid" 2>/dev/null; fail "the run to stop never reached its first checkpoint (see $WORK/cut.out)"; }
kill -TERM "$pid"
wait "$pid"; rc=$?
[[ $rc == 143 ]] || fail "the stopped run exited $rc, not 143 (see $WORK/cut.out)"
echo "train-resume: stopped at checkpoint $(cat "$WORK/runs/cut/checkpoints/latest" 2>/dev/null), exit 143"
"${SAE[@]}" train --resume "$WORK/runs/cut" >"$WORK/resume.out" 2>&1 || fail "the resume failed (see $WORK/resume.out)"

last() { # RUN FIELD: FIELD of the run's last metrics line
    sed -n '$p' "$1/metrics.jsonl" | grep -o "\"$2\":[^,}]*" | cut -d: -f2
}
fa=$(last "$WORK/runs/full" fvu); fb=$(last "$WORK/runs/cut" fvu)
echo "train-resume: full: step $(last "$WORK/runs/full" step), FVU $fa, L0 $(last "$WORK/runs/full" l0)"
echo "train-resume: cut + resume: step $(last "$WORK/runs/cut" step), FVU $fb, L0 $(last "$WORK/runs/cut" l0)"
[[ -n "$fa" && -n "$fb" ]] || fail "a run's metrics.jsonl has no final FVU"
digest() { find "$1/saes" -name '*.safetensors' | sort | xargs -r sha256sum | awk '{print $1}'; }
a=$(digest "$WORK/runs/full"); b=$(digest "$WORK/runs/cut")
[[ -n "$a" && -n "$b" ]] || fail "a run wrote no dictionary (saes/*/*.safetensors)"
if [[ "$a" == "$b" ]]; then
    echo "train-resume: PASS: the resumed dictionary is bit-identical to the uninterrupted one"
    exit 0
fi
[[ $DEVICE == cpu ]] && fail "on the CPU the resumed dictionary must be bit-identical to the uninterrupted one"
fr=$(last "$WORK/runs/repeat" fvu)
[[ -n "$fr" ]] || fail "the repeated run's metrics.jsonl has no final FVU"
echo "train-resume: repeat (uninterrupted again): FVU $fr"
[[ "$(digest "$WORK/runs/repeat")" == "$a" ]] \
    && fail "two uninterrupted runs on $DEVICE are bit-identical, so the resumed one must be too, and it is not"
awk -v a="$fa" -v b="$fb" -v r="$fr" 'BEGIN {
        d = a - b; if (d < 0) d = -d; n = a - r; if (n < 0) n = -n
        lim = 0.02 * a; if (2 * n > lim) lim = 2 * n
        printf "train-resume: resumed vs uninterrupted FVU %.3g %%; repeat vs uninterrupted %.3g %%; limit %.3g %%\n", \
            100 * d / a, 100 * n / a, 100 * lim / a
        exit !(d <= lim) }' || fail "the resumed run's FVU $fb is further from the uninterrupted run's $fa than the limit"
echo "train-resume: PASS: runs on $DEVICE are not bit-reproducible (two uninterrupted runs differ), and the resumed one is within the limit"
