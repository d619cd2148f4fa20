#!/usr/bin/env bash
# End-to-end test of the Slurm sweep on a real, private, one-node Slurm on this machine:
#   installs Debian's slurm-wlm and munge when missing (needs root and apt-get), starts its own munged, slurmctld
#   and slurmd (private key, socket, ports, state and spool under a temporary folder, nothing in /etc), writes demo
#   data with `sae-train synth`, plans a 3-task sweep (CPU device), submits it with scripts/slurm/sweep.sbatch,
#   requeues task 0 mid-run (`scontrol requeue`), sends task 1 the time-limit signal (USR1 to the batch shell),
#   checks that both resumed from their checkpoints, waits for the array, runs `sae-train sweep collect` and checks
#   the table, the plot and the logs; then stops the daemons. Nothing depends on the machine's speed: the two
#   interrupted tasks hold after their first checkpoint until the test has interrupted them and seen them requeued,
#   and every wait on Slurm or the run polls against a deadline and reports the state it saw when it fails.
#
# Exit codes: 0 passed, or SKIPPED (printed as such, with the reason) when Slurm cannot be installed or its
# daemons cannot start here (a sandbox without root, apt or sockets); 1 failed.
# Environment: SAE_TRAIN_JAR (default target/sae-train.jar, built when missing), KEEP_SLURM_TEST=1 keeps the
# temporary folder, SLURM_TEST_PORT (first of the two ports, default 16817), SLURM_TEST_TIMEOUT (s, default 600).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
timeout_s=${SLURM_TEST_TIMEOUT:-600}
t_start=$SECONDS

log() { echo "[test-local-slurm $(date -u +%T)] $*"; }
skip() {
    echo "SKIPPED: the local Slurm test did not run: $*"
    echo "SKIPPED: this is not a pass; run scripts/slurm/test-local-slurm.sh as root on a Debian machine to test the sweep"
    exit 0
}
fail() {
    echo "FAILED: $*"
    failed=1
    exit 1
}

# --- Slurm and munge -------------------------------------------------------------------------------------------
need_install=0
for c in slurmctld slurmd sbatch squeue scontrol munged mungekey python3; do
    command -v "$c" >/dev/null 2>&1 || need_install=1
done
if [ "$need_install" -eq 1 ]; then
    [ "$(id -u)" -eq 0 ] || skip "slurm-wlm / munge are not installed and this is not root (cannot apt-get install)"
    command -v apt-get >/dev/null || skip "slurm-wlm / munge are not installed and there is no apt-get"
    log "installing slurm-wlm, munge and python3 (apt-get)"
    if ! timeout 600 apt-get install -y -q slurm-wlm munge python3 >/tmp/sae-slurm-apt.log 2>&1; then
        (timeout 300 apt-get update -q && timeout 600 apt-get install -y -q slurm-wlm munge python3) \
            >>/tmp/sae-slurm-apt.log 2>&1 || { tail -5 /tmp/sae-slurm-apt.log; skip "apt-get install slurm-wlm munge failed (see /tmp/sae-slurm-apt.log)"; }
    fi
fi
[ "$(id -u)" -eq 0 ] || skip "the daemons of this one-node Slurm run as root here and this is not root"

# --- the jar ---------------------------------------------------------------------------------------------------
jar=${SAE_TRAIN_JAR:-$root/target/sae-train.jar}
if [ ! -f "$jar" ]; then
    log "building $jar (mvn package -DskipTests)"
    mvn -q -B package -DskipTests || fail "mvn package failed"
fi
jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")
sae() { java -jar "$jar" "$@"; }

# --- private daemons -------------------------------------------------------------------------------------------
work=$(mktemp -d /tmp/sae-slurm-test.XXXXXX)
chmod 755 "$work"
failed=0
pids=()
jobid=""
cleanup() {
    local rc=$?
    set +e
    if [ -n "$jobid" ] && [ -n "${SLURM_CONF:-}" ]; then
        scancel "$jobid" >/dev/null 2>&1
        sleep 1
    fi
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null
    done
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        for _ in $(seq 50); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "${pids[i]}" 2>/dev/null
    done
    [ ${#pids[@]} -gt 0 ] && log "stopped the daemons it started (pids ${pids[*]})"
    if [ "$failed" -eq 1 ] || [ "$rc" -ne 0 ] || [ "${KEEP_SLURM_TEST:-0}" = 1 ]; then
        log "kept $work for inspection (logs in $work/log, sweep in $work/sweep)"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${SLURM_TEST_PORT:-16817}
while ! port_free "$port" || ! port_free $((port + 1)); do port=$((port + 2)); done
host=$(hostname -s)
ncpu=$(nproc)
mkdir -p "$work"/{munge,etc,state,spool,log}
chmod 700 "$work/munge"

mungekey --create --keyfile="$work/munge/munge.key" --force 2>/dev/null \
    || dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
sock="$work/munge/munge.socket"
munged --force --key-file="$work/munge/munge.key" --socket="$sock" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/log/munged.log" --seed-file="$work/munge/munged.seed" \
    || { cat "$work/log/munged.log" 2>/dev/null | tail -5; skip "munged could not start"; }
for _ in $(seq 50); do [ -s "$work/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")
munge -n --socket="$sock" | unmunge --socket="$sock" >/dev/null || skip "munge cannot encode/decode a credential here"

cat >"$work/etc/slurm.conf" <<EOF
ClusterName=saetest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=60
MinJobAge=3600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$ncpu State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/etc/slurm.conf"
slurmctld -D -c -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
pids+=("$!")
slurmd -D -f "$SLURM_CONF" -N "$host" >"$work/log/slurmd.out" 2>&1 &
pids+=("$!")
up=0
for _ in $(seq 60); do
    state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
    if [ "$state" = idle ]; then up=1; break; fi
    sleep 1
done
if [ "$up" -ne 1 ]; then
    tail -5 "$work/log/slurmctld.log" "$work/log/slurmd.log" "$work/log/slurmctld.out" "$work/log/slurmd.out" 2>/dev/null
    skip "slurmctld/slurmd did not bring node $host to idle within 60 s (node state: '${state:-none}')"
fi
log "Slurm $(sinfo -V | awk '{print $2}') up: node $host idle, $ncpu CPU(s), ports $port/$((port + 1))"
# Can this machine launch a job at all? (A sandbox may let the daemons start but not slurmstepd run a task.)
probe=$(sbatch --parsable --gres=none --output="$work/log/probe.out" --wrap "echo probe-ok" 2>&1) \
    || skip "sbatch of a trivial job failed: $probe"
probe_state=""
for _ in $(seq 60); do
    probe_state=$(squeue -h -j "$probe" -o %T 2>/dev/null || true)
    [ -z "$probe_state" ] && break
    sleep 1
done
if ! grep -q probe-ok "$work/log/probe.out" 2>/dev/null; then
    echo "probe job $probe: last state seen '${probe_state:-gone from the queue}'"
    scancel "$probe" 2>/dev/null || true
    tail -5 "$work/log/slurmd.log" 2>/dev/null
    skip "Slurm could not run a trivial job (echo) within 60 s on this machine"
fi

# --- the sweep -------------------------------------------------------------------------------------------------
# d = 64, 3 tasks of 2 SAEs (x2, x4, x8 with k 4 and 8); 2 epochs of 160k rows, 625 steps of 512 rows, a
# checkpoint every 40 steps; one CPU thread per task.
sae synth "$work/data" --d 64 --features 128 --active 3 --rows 160000 --rows-per-shard 40000 >/dev/null
cat >"$work/sweep.json" <<EOF
{
  "name": "slurmtest",
  "shard_dir": "$work/data",
  "out": "$work/sweep",
  "architectures": ["topk"],
  "expansion": [2, 4, 8],
  "k": [4, 8],
  "seeds": [0],
  "saes_per_job": 2,
  "train": {"batch": 512, "epochs": 2, "lr": 0.002, "checkpoint_every": 20480, "log_every": 20,
            "device": "cpu", "threads": 1}
}
EOF
sae sweep plan "$work/sweep.json" | tee "$work/plan.txt"
ntasks=$(wc -l <"$work/sweep/manifest.tsv")
[ "$ntasks" -eq 3 ] || fail "expected 3 tasks in the manifest, got $ntasks"

# Tasks 0 and 1 are interrupted mid-run. So that they cannot finish first however fast this machine is, their first
# attempt holds after its first checkpoint (SAE_TRAIN_HOLD_AFTER_CHECKPOINT, a test seam of the step loop) until
# release-<task> exists or a stop signal arrives; the test creates that file only once the task is back in the
# queue, so the resumed attempt runs through. sweep.sbatch starts sae-train through $JAVA: this wrapper.
cat >"$work/java-hold" <<EOF
#!/bin/bash
case \${SLURM_ARRAY_TASK_ID:-} in
    0 | 1) export SAE_TRAIN_HOLD_AFTER_CHECKPOINT="$work/release-\$SLURM_ARRAY_TASK_ID" ;;
esac
exec java "\$@"
EOF
chmod 755 "$work/java-hold"
jobid=$(cd "$root" && SAE_TRAIN_JAR="$jar" JAVA="$work/java-hold" sbatch --parsable --array=0-2 --gres=none \
    --cpus-per-task=1 --output="$work/sweep/logs/slurm-%A_%a.out" scripts/slurm/sweep.sbatch "$work/sweep/manifest.tsv")
log "submitted job array $jobid"

# Polls every 0.5 s until CONDITION (a command) succeeds; returns 1 once SECONDS seconds have passed without it.
# Callers then report what they saw (describe), so a failure says which state Slurm and the run were in.
poll() { # SECONDS CONDITION...
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
run_of() { echo "$work/sweep/$(sed -n "$(($1 + 1))p" "$work/sweep/manifest.tsv" | cut -f1 | xargs basename)"; }
state_of() { squeue -h -j "${jobid}_$1" -o %T 2>/dev/null | head -1; }
is_holding() { grep -q "holding after the checkpoint" "$1/train.log" 2>/dev/null; }
is_pending() { [ "$(state_of "$1")" = PENDING ]; }
describe() { # TASK: what the test can see of a task
    local run
    run=$(run_of "$1")
    echo "Slurm state '$(state_of "$1")', checkpoint '$(cat "$run/checkpoints/latest" 2>/dev/null)'," \
        "train.log ends '$(tail -1 "$run/train.log" 2>/dev/null)'," \
        "task log ends '$(tail -1 "$work/sweep/logs/task-$1.log" 2>/dev/null)'"
}

# Task 0: `scontrol requeue` (Slurm sends SIGTERM, then requeues the task).
# Task 1: the time-limit path: USR1 to the batch shell, as --signal=B:USR1@180 would send it; the script asks
# sae-train to checkpoint and stop, then requeues the task itself.
interrupt() { # TASK COMMAND...
    local t=$1 run
    shift
    run=$(run_of "$t")
    poll 300 is_holding "$run" || fail "task $t did not reach its hold after the first checkpoint within 300 s: $(describe "$t")"
    grep -q '"result"' "$run/config.json" 2>/dev/null && fail "task $t finished although it was held: $(describe "$t")"
    log "task $t holds at $(cat "$run/checkpoints/latest"); $*"
    "$@" || fail "$* failed: $(describe "$t")"
    poll 120 is_pending "$t" || fail "task $t was not requeued within 120 s of '$*': $(describe "$t")"
    touch "$work/release-$t"
    # Slurm holds a requeued job for a while (reason BeginTime, about two minutes here); let it start soon. Not at
    # once: slurmd revokes the killed run's job credential and refuses a new launch whose credential carries the
    # same second ("Job credential revoked", the task then FAILS instead of restarting), so let that second pass.
    sleep 2
    scontrol update JobId="${jobid}_$t" StartTime=now || fail "scontrol update StartTime=now failed: $(describe "$t")"
}
interrupt 0 scontrol requeue "${jobid}_0"
interrupt 1 scancel --batch --signal=USR1 "${jobid}_1"

array_done() { [ -z "$(squeue -h -j "$jobid" -o %i 2>/dev/null)" ]; }
remaining=$((timeout_s - (SECONDS - t_start)))
[ "$remaining" -gt 0 ] || remaining=1
poll "$remaining" array_done || {
    squeue -j "$jobid"
    fail "the array did not finish within ${timeout_s} s; task 0: $(describe 0); task 1: $(describe 1); task 2: $(describe 2)"
}
log "job array $jobid done:"
sacct_states=$(scontrol show job "$jobid" 2>/dev/null | grep -oE 'JobState=[A-Z]+|ArrayTaskId=[0-9]+|Restarts=[0-9]+' | paste -sd' ' -)
echo "  $sacct_states"

# --- checks ----------------------------------------------------------------------------------------------------
sae sweep collect "$work/sweep" | tee "$work/collect.txt" || fail "sweep collect failed"
[ -s "$work/sweep/frontier.png" ] || fail "no frontier.png"
head -c 8 "$work/sweep/frontier.png" | od -An -c | grep -q 'P   N   G' || fail "frontier.png is not a PNG"
[ "$(wc -l <"$work/sweep/sweep-results.csv")" -eq 7 ] || fail "sweep-results.csv should hold a header and 6 SAEs"
python3 - "$work/sweep/sweep-results.json" <<'EOF' || fail "sweep-results.json does not hold the expected results"
import json, sys
r = json.load(open(sys.argv[1]))
names = sorted(s["name"] for s in r["saes"])
assert names == sorted(["x2-k4", "x2-k8", "x4-k4", "x4-k8", "x8-k4", "x8-k8"]), names
assert r["unfinished"] == [], r["unfinished"]
for s in r["saes"]:
    assert s["tokens"] == 2 * 160000 // 512 * 512, s
    assert s["k"] / 2 < s["l0"] <= s["k"], s        # topk: at most k active (fewer where a top-k value is <= 0)
    assert 0 < s["fvu"] < 0.5, s
    assert s["d_sae"] == 64 * int(s["name"][1]), s
    assert s["wall_s"] > 0, s
assert any(s["on_frontier"] for s in r["saes"])
print("sweep-results.json: 6 SAEs, L0 <= k, FVU", ", ".join("%.3f" % s["fvu"] for s in r["saes"]))
EOF
for t in 0 1; do
    tlog="$work/sweep/logs/task-$t.log"
    run=$(run_of "$t")
    grep -q "restart count 1" "$tlog" || fail "task $t did not run a second time (see $tlog)"
    grep -q "resuming from checkpoint" "$tlog" || fail "task $t's second attempt did not resume (see $tlog)"
    grep -q "stopped by SIGTERM" "$run/train.log" || fail "task $t's first attempt did not stop on SIGTERM (see $run/train.log)"
    grep -q "hold released at step [0-9]* (stop signal SIGTERM)" "$run/train.log" \
        || fail "task $t's first attempt did not leave its hold on the stop signal (see $run/train.log)"
    grep -qE "resuming .* from .*step-[0-9]+ \(step [1-9][0-9]* of" "$run/train.log" \
        || fail "train.log of task $t has no resume line (see $run/train.log)"
    resumed[t]=$(grep -oE "resuming .* \(step [0-9]+ of [0-9]+\)" "$run/train.log" | grep -oE "step [0-9]+ of [0-9]+")
done
grep -q "time limit near" "$work/sweep/logs/task-1.log" || fail "task 1 did not see USR1"
grep -q "requeueing ${jobid}_1" "$work/sweep/logs/task-1.log" || fail "task 1 did not requeue itself"
grep -q "restart count 0" "$work/sweep/logs/task-2.log" || fail "task 2 log is missing"
grep -q "resuming" "$work/sweep/logs/task-2.log" && fail "task 2 resumed but was never requeued"
log "task 0: scontrol requeue -> SIGTERM, checkpoint, resumed at ${resumed[0]}, finished"
log "task 1: USR1 (time limit) -> checkpoint, self-requeue, resumed at ${resumed[1]}, finished; task 2 ran once"
echo "PASSED: local Slurm sweep (3 tasks, 6 SAEs; a requeued and a time-limited task resumed from their checkpoints) in $((SECONDS - t_start)) s"
