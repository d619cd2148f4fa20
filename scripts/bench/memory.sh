#!/usr/bin/env bash
# Planned memory of a 1x..64x topk family next to the measured peak RSS.
#
# The run logs a MemoryPlan before its first step: parameters + Adam state and step buffers per SAE, plus
# the shared batch buffer. The process also holds what the plan does not count, stated here:
#   - the JVM baseline (the heap pages the garbage collector has touched, code cache, metaspace, threads,
#     OpenBLAS), measured by a 1x run over the same tokens on the same data: its RSS minus its own plan. Same
#     length matters: the young generation's pages become resident as the run allocates, up to the size the
#     collector settles on (which depends on the machine's memory, not on the family);
#   - the shard files, memory-mapped: pages read count as (file-backed, shared, reclaimable) RSS, up to
#     the data's size (printed);
#   - the stream: its shuffle buffer holds row ids only (8 bytes a row), plus prefetchBatches (4) batches
#     of batch * d fp32 and the consumer's batch.
# So expect: family RSS ~ baseline RSS + (family plan - 1x plan) + the extra prefetch already in baseline.
#
# Usage: scripts/bench/memory.sh [WORK_DIR]   (env: D, ROWS, BATCH, K, TOKENS, EXPANSIONS, THREADS, JAVA_OPTS)
# e.g. JAVA_OPTS="-Xms32m -Xmx256m" bounds the heap (the SAEs live off-heap, in native memory).
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/sae-memory}
D=${D:-256}
ROWS=${ROWS:-200000}
BATCH=${BATCH:-2048}
K=${K:-32}
TOKENS=${TOKENS:-102400}
JAVA_OPTS=${JAVA_OPTS:-}
EXPANSIONS=${EXPANSIONS:-1,2,4,8,16,32,64}
THREADS=${THREADS:-$(nproc)}
JAR=target/sae-train.jar
[[ -f $JAR ]] || mvn -q -B -o package -DskipTests
mkdir -p "$WORK"
DATA=$WORK/data-d$D-r$ROWS
if [[ ! -d $DATA ]]; then
    java -jar "$JAR" synth "$DATA" --d "$D" --features $((D * 8)) --rows "$ROWS" --dtype f16 > /dev/null
fi
cat "$DATA"/*.npy > /dev/null

# run NAME EXPANSIONS TOKENS -> prints "plan_total_bytes max_rss_kib", keeps the log in $WORK/NAME.log
run() {
    local name=$1 exp=$2 tokens=$3
    rm -rf "$WORK/out/$name"
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$WORK/$name.time" java $JAVA_OPTS -jar "$JAR" train "$DATA" --arch topk --k "$K" \
        --expansion "$exp" --batch "$BATCH" --tokens "$tokens" --device cpu --threads "$THREADS" \
        --out "$WORK/out" --name "$name" --log-every 1000000 > "$WORK/$name.log" 2>&1
}

rss_kib() { awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/$1.time"; }
# The plan table from the run log: the lines after "memory before the first step" up to "family".
plan() { awk '/memory before the first step/ {on=1; next} on {print} on && /^family/ {exit}' "$WORK/$1.log"; }
to_mib() {  # "12.3 MiB" / "1.2 GiB" / "512 B" -> MiB
    awk '{v=$1; u=$2; f=(u=="KiB")?1/1024:(u=="MiB")?1:(u=="GiB")?1024:(u=="B")?1/1048576:1; printf "%.1f", v*f}'
}
plan_total_mib() { plan "$1" | awk '/^family/ {print $(NF-1), $NF}' | to_mib; }

echo "data: $DATA ($ROWS rows x d=$D, f16, $(du -sm "$DATA" | cut -f1) MiB mapped; counts as file-backed RSS once read)"
echo "batch $BATCH, k $K, $TOKENS tokens, $THREADS threads, JVM options: ${JAVA_OPTS:-none (defaults)}"
echo
run baseline 1 "$TOKENS"
run family "$EXPANSIONS" "$TOKENS"
echo "== family plan (from the run log) =="
plan family
echo
base_rss=$(( $(rss_kib baseline) / 1024 ))
fam_rss=$(( $(rss_kib family) / 1024 ))
base_plan=$(plan_total_mib baseline)
fam_plan=$(plan_total_mib family)
awk -v br="$base_rss" -v fr="$fam_rss" -v bp="$base_plan" -v fp="$fam_plan" 'BEGIN {
    printf "%-34s %10s %10s\n", "", "plan MiB", "RSS MiB"
    printf "%-34s %10.1f %10d\n", "baseline: 1x, same tokens", bp, br
    printf "%-34s %10.1f %10d\n", "family", fp, fr
    jvm = br - bp
    expect = jvm + fp
    printf "JVM + stream + mapped data baseline (baseline RSS - its plan): %.0f MiB\n", jvm
    printf "expected family RSS (baseline + family plan): %.0f MiB; measured %d MiB (%+.0f%%)\n", expect, fr, 100 * (fr - expect) / expect
}'
grep -E "Elapsed \(wall|Maximum resident" "$WORK/family.time" | sed 's/^\s*/family: /'
