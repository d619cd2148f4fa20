#!/usr/bin/env bash
# Opens an analysis report (index.html) in headless Chromium and fails if any <img> did not load.
#   .ci/check-report.sh [REPORT_DIR/index.html]
# Without an argument it first builds a report: synth data, a two-SAE family and 'sae-train analyze' (with the logit
# lens and synthetic activations) in a temp dir.
# Exit codes: 0 every image loaded; 1 an image failed to load, or the page or the build failed;
#             3 skipped: no Chromium and it cannot be installed here (needs root and apt-get).
# Chromium is Debian's package (apt-get install chromium), run with a fresh profile and no background networking.
set -euo pipefail
cd "$(dirname "$0")/.."

find_chromium() { command -v chromium || command -v chromium-browser || true; }
CHROMIUM=$(find_chromium)
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "check-report: chromium is missing; installing Debian's chromium package"
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  CHROMIUM=$(find_chromium)
fi
if [ -z "$CHROMIUM" ]; then
  echo "check-report: SKIPPED: no chromium on PATH and it cannot be installed here (needs root and apt-get);"
  echo "check-report: install Debian's 'chromium' package to run the report check"
  exit 3
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ $# -ge 1 ]; then
  INDEX=$1
else
  [ -d target/classes/dev ] || mvn -q -B compile
  mvn -q -B dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
  CP="target/classes:$(cat "$WORK/cp.txt")"
  run() { java -cp "$CP" dev.saetrain.cli.Main "$@"; }
  run synth "$WORK/data" --d 32 --features 64 --active 3 --rows 40000 --rows-per-shard 20000 >/dev/null
  run train "$WORK/data" --expansion 2,4 --k 3 --lr 4e-3 --out "$WORK/runs" --name demo >/dev/null 2>&1
  seq 0 63 | sed 's/^/f/' >"$WORK/vocab.txt" # ground_truth.npy [64, 32] serves as W_U [vocab, d]: one token per feature
  run analyze "$WORK/runs/demo" --rows 20000 --unembed "$WORK/data/ground_truth.npy" --vocab "$WORK/vocab.txt" --synthetic
  INDEX=$WORK/runs/demo/report/index.html
fi
[ -f "$INDEX" ] || { echo "check-report: FAILED: $INDEX does not exist"; exit 1; }

EXPECTED=$(grep -o '<img ' "$INDEX" | wc -l)
URL="file://$(realpath "$INDEX")"
DOM=$(timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --disable-background-networking \
  --no-first-run --disable-component-update --disable-sync --user-data-dir="$WORK/profile" \
  --virtual-time-budget=10000 --dump-dom "$URL" 2>"$WORK/chromium.log") || {
  echo "check-report: FAILED: chromium could not render $URL:"; tail -5 "$WORK/chromium.log"; exit 1; }
CHECK=$(printf '%s' "$DOM" | grep -o '<p id="image-check"[^>]*>[^<]*' || true)
TOTAL=$(printf '%s' "$CHECK" | sed -n 's/.*data-total="\([0-9]*\)".*/\1/p')
FAILED=$(printf '%s' "$CHECK" | sed -n 's/.*data-failed="\([0-9]*\)".*/\1/p')
if [ -z "$TOTAL" ] || [ -z "$FAILED" ]; then
  echo "check-report: FAILED: the page's image check did not run (no data-total/data-failed on #image-check)"; exit 1
fi
echo "check-report: ${CHECK#*>} ($INDEX; $EXPECTED <img> tags in the file)"
if [ "$TOTAL" != "$EXPECTED" ] || [ "$FAILED" != 0 ] || [ "$EXPECTED" = 0 ]; then
  echo "check-report: FAILED: $FAILED of $TOTAL images did not load (the file has $EXPECTED <img> tags)"; exit 1
fi
echo "check-report: OK"
