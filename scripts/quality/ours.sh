#!/usr/bin/env bash
# One quality point of sae-train: train on TRAIN_DIR with the given train options, then analyze the
# dictionary on every row of TEST_DIR; prints one JSON line (the options, held-out FVU and L0, training seconds),
# the form of scripts/quality/torch_quality.py's.
#
#   scripts/quality/ours.sh TRAIN_DIR TEST_DIR OUT_DIR [train options...]     e.g. --k 32 --expansion 16 --tokens 1024000
#
# The program is SAE_TRAIN (a launcher, e.g. the unpacked distribution's bin/sae-train) or the jar SAE_TRAIN_JAR.
set -euo pipefail
[[ $# -ge 3 ]] || { echo "usage: $0 TRAIN_DIR TEST_DIR OUT_DIR [train options...]" >&2; exit 2; }
TRAIN=$1 TEST=$2 OUT=$3; shift 3
# The program: SAE_TRAIN, a launcher such as the distribution's DIST/bin/sae-train (no Java to install), else the jar
# SAE_TRAIN_JAR (default target/sae-train.jar) with the java on the PATH.
if [[ -n ${SAE_TRAIN:-} ]]; then
  [[ -x $SAE_TRAIN ]] || { echo "SAE_TRAIN=$SAE_TRAIN is not an executable launcher" >&2; exit 2; }
  SAE=("$SAE_TRAIN")
else
  JAR=${SAE_TRAIN_JAR:-target/sae-train.jar}
  [[ -f $JAR ]] || { echo "$JAR not found; build it with mvn -q -B package -DskipTests" >&2; exit 2; }
  SAE=(java -jar "$JAR")
fi
[[ ! -e $OUT ]] || { echo "$OUT exists; give a new OUT_DIR" >&2; exit 2; }
TEST_ROWS=$(python3 -c "import glob,numpy as np,sys; print(sum(np.load(f,mmap_mode='r').shape[0] for f in glob.glob(sys.argv[1]+'/*.npy')))" "$TEST")
t0=$(date +%s.%N)
"${SAE[@]}" train "$TRAIN" --out "$OUT/run" "$@" >"$OUT.train.log" 2>&1 || { tail -5 "$OUT.train.log" >&2; exit 1; }
t1=$(date +%s.%N)
RUN=$(ls -d "$OUT"/run/*/)
"${SAE[@]}" analyze "$RUN" --shards "$TEST" --out "$OUT/test" --no-report --rows "$TEST_ROWS" >"$OUT.analyze.log" 2>&1 \
  || { tail -5 "$OUT.analyze.log" >&2; exit 1; }
python3 - "$OUT" "$t0" "$t1" "$*" <<'PY'
import glob, json, sys
out, t0, t1, args = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
for f in sorted(glob.glob(out + "/test/feature-stats/*/summary.json")):
    s = json.load(open(f))
    a = args.split()
    tokens = int(a[a.index("--tokens") + 1]) if "--tokens" in a else None
    print(json.dumps({"who": "sae-train", "sae": f.split("/")[-2], "args": args, "tokens": tokens,
                      "test_fvu": round(s["fvu"], 5),
                      "test_l0": round(s["l0"], 3), "train_s": round(t1 - t0, 1)}))
PY
