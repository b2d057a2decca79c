#!/usr/bin/env bash
# The Slurm job files on a real one-node Slurm cluster on this machine (run as root; CI runs it):
#
#   bash deploy/slurm/selftest.sh
#
# 1. Installs Debian's slurm-wlm and munge where missing, and starts munged, slurmctld and slurmd for
#    localhost with a configuration of its own (one partition with this machine's cores, no GPUs, ports
#    nothing else listens on), everything under a temporary folder.
# 2. Submits deploy/slurm/slurm-selftest.ts (4 tiny cells) with deploy/slurm/submit.sh as an array of 4
#    tasks plus the dependent report job, and checks: every task and the report job exited 0, every cell
#    ran exactly once (deploy/slurm/check.ts once, with the task logs), and the report was made once, by
#    the report job, from all four cells.
# 3. Preemption and requeue: in a second runs folder holding the first array's records for three cells,
#    resubmits the array; the task that trains the fourth cell is stopped mid-cell by
#    `scancel --batch --signal=TERM` (the cell must be recorded interrupted with a checkpoint, the task must
#    exit 143), requeued with `scontrol requeue`, stopped again mid-cell by `scontrol requeue` while running
#    (what Slurm's preemption with PreemptMode=REQUEUE does), then left to finish; its records must equal
#    the uninterrupted first array's, wall-clock fields aside (check.ts same).
# 4. Cancels its jobs, stops the daemons it started, and removes its configuration, state, runs and
#    reports, also when a check fails. Packages it installed stay installed (their own daemons are kept
#    from starting during the install and are never started).
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO="$PWD"
EXP=deploy/slurm/slurm-selftest.ts
NAME=slurm-selftest
TIMEOUT="${SELFTEST_TIMEOUT:-300}" # seconds each wait may take
t0=$SECONDS

say() { echo "slurm-selftest: $*"; }
fail() {
  echo "slurm-selftest: FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || fail "run it as root (it installs packages and starts slurmctld, slurmd and munged)"

# --- 1. Packages, Deno, the project's dependencies -----------------------------------------------------
missing=()
for tool in slurmctld slurmd sbatch munged; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing slurm-wlm and munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages from starting their own daemons: this test starts its own and stops them.
  no_start=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && no_start=1
  fi
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
  [ -n "$no_start" ] && rm -f /usr/sbin/policy-rc.d
fi
command -v deno >/dev/null 2>&1 || npm install -g deno@2.9.6 >/dev/null
[ -d node_modules ] || deno install --frozen
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

# --- 2. A one-node cluster under a temporary folder ---------------------------------------------------
STATE="$(mktemp -d /tmp/redraw-slurm-XXXXXX)"
chmod 755 "$STATE" # munged wants its socket's folder open to all (for execute)
RUNS="runs/$NAME-$$"
REPORTS="reports/$NAME-$$"
started_pids=()
jobs_submitted=()
had_runs=""
[ -d runs ] && had_runs=1

cleanup() {
  local status=$?
  set +e
  if [ "${#jobs_submitted[@]}" -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${jobs_submitted[@]}" 2>/dev/null
    for _ in $(seq 1 30); do
      [ -z "$(squeue -h -j "$(
        IFS=,
        echo "${jobs_submitted[*]}"
      )" 2>/dev/null)" ] && break
      sleep 1
    done
  fi
  # Daemons in reverse order of starting: slurmd, slurmctld, munged.
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
    pid="${started_pids[i]}"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [ "$status" != 0 ]; then
    for f in "$STATE"/*.log "$STATE"/logs/*; do
      [ -f "$f" ] && { echo "--- $f (last 40 lines)"; tail -n 40 "$f"; } >&2
    done
  fi
  rm -rf "$STATE" "$REPO/$RUNS" "$REPO/$RUNS-requeue" "$REPO/$REPORTS" "$REPO/$REPORTS-requeue"
  [ -n "$had_runs" ] || rmdir "$REPO/runs" 2>/dev/null
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ctld_port=""
for p in $(seq 16817 2 16999); do
  if port_free "$p" && port_free "$((p + 1))"; then
    ctld_port=$p
    break
  fi
done
[ -n "$ctld_port" ] || fail "no two free ports from 16817 to 17000"

node="$(hostname -s)"
cores="$(nproc)"
memory="$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')"
mkdir -m 755 "$STATE/munge"
mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/logs"
dd if=/dev/urandom of="$STATE/munge.key" bs=1024 count=1 status=none
chmod 400 "$STATE/munge.key"
cat >"$STATE/slurm.conf" <<EOF
ClusterName=redraw-selftest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$STATE/munge/munge.socket
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MinJobAge=3600
KillWait=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cores RealMemory=$memory State=UNKNOWN
PartitionName=selftest Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$STATE/slurm.conf"

munged -F --key-file="$STATE/munge.key" --socket="$STATE/munge/munge.socket" \
  --pid-file="$STATE/munge/munged.pid" --seed-file="$STATE/munge/munged.seed" \
  --log-file="$STATE/munged.log" >>"$STATE/munged.log" 2>&1 &
started_pids+=($!)
for _ in $(seq 1 50); do [ -S "$STATE/munge/munge.socket" ] && break; sleep 0.2; done
slurmctld -D -f "$SLURM_CONF" >>"$STATE/slurmctld.log" 2>&1 &
started_pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" >>"$STATE/slurmd.log" 2>&1 &
started_pids+=($!)
for _ in $(seq 1 60); do
  [ "$(sinfo -h -n "$node" -o %t 2>/dev/null)" = "idle" ] && break
  sleep 0.5
done
[ "$(sinfo -h -n "$node" -o %t 2>/dev/null)" = "idle" ] || fail "the node did not come up idle"
say "cluster up: slurmctld and slurmd 22.05 on $node ($cores cores, ${memory} MB), ports $ctld_port-$((ctld_port + 1))"

# --- helpers -------------------------------------------------------------------------------------------
# One job's field from scontrol (e.g. field 12_2 JobState).
field() { scontrol show job -o "$1" | head -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# Waits until none of the given jobs is queued or running.
wait_gone() {
  local deadline=$((SECONDS + TIMEOUT)) list
  list="$(
    IFS=,
    echo "$*"
  )"
  while [ -n "$(squeue -h -j "$list" 2>/dev/null)" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "jobs $list still queued or running after ${TIMEOUT}s"
    sleep 1
  done
}
# Waits until a job's state is $2.
wait_state() {
  local deadline=$((SECONDS + TIMEOUT))
  until [ "$(field "$1" JobState)" = "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "job $1 is $(field "$1" JobState), not $2, after ${TIMEOUT}s"
    sleep 0.2
  done
}
# Waits until the run folder $1 has more than $2 lines in metrics.jsonl and no result (training mid-cell).
wait_training() {
  local deadline=$((SECONDS + TIMEOUT))
  until [ "$(cat "$1/metrics.jsonl" 2>/dev/null | wc -l)" -gt "$2" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$1 did not start training within ${TIMEOUT}s"
    sleep 0.1
  done
  [ ! -e "$1/result.json" ] || fail "$1 finished before it could be interrupted"
}
check() { deno run --quiet --allow-read deploy/slurm/check.ts "$@"; }

# The planned run ids, in plan order (task i of 4 runs run i).
mapfile -t ids < <(deno run --quiet -P=exp lib/exp/cli.ts "$EXP" --profile smoke --dry-run --json |
  deno eval 'JSON.parse(await new Response(Deno.stdin.readable).text()).runs.forEach((r) => console.log(r.runId))')
[ "${#ids[@]}" = 4 ] || fail "expected 4 planned runs of $EXP, got ${#ids[@]}"

# --- 3. An array of 4 tasks and the report job, through submit.sh ----------------------------------------
export REDRAW_CPUS=1 REDRAW_MEM=1G REDRAW_TIME=15 REDRAW_LOG_DIR="$STATE/logs" RUNS_DIR="$RUNS" REPORTS_DIR="$REPORTS"
out="$(REDRAW_TASKS=4 deploy/slurm/submit.sh "$EXP" --profile smoke)"
echo "$out"
array="$(sed -n 's/^submitted: array \([0-9]*\) .*/\1/p' <<<"$out")"
report="$(sed -n 's/.*, report \([0-9]*\) .*/\1/p' <<<"$out")"
[ -n "$array" ] && [ -n "$report" ] || fail "submit.sh printed no job ids"
jobs_submitted+=("$array" "$report")
wait_gone "$array" "$report"

states="$(scontrol show job -o "$array" | grep -o 'ArrayTaskId=[0-9]*\|JobState=[A-Z]*\|ExitCode=[0-9:]*' | paste - - -)"
echo "$states"
[ "$(grep -c 'JobState=COMPLETED.*ExitCode=0:0' <<<"$states")" = 4 ] || fail "not every array task exited 0"
[ "$(field "$report" JobState)" = COMPLETED ] && [ "$(field "$report" ExitCode)" = 0:0 ] ||
  fail "the report job is $(field "$report" JobState) with exit code $(field "$report" ExitCode)"
task_logs=()
for i in 0 1 2 3; do task_logs+=(--log "$STATE/logs/slurm-${array}_$i.out"); done
check once "$RUNS" "$NAME" "${ids[@]}" "${task_logs[@]}"
# The report: written by the report job alone (the tasks run with --no-report), from all four cells.
made="$(grep -l '^report: ' "$STATE"/logs/*.out || true)"
[ "$made" = "$STATE/logs/slurm-$report-report.out" ] || fail "the report was made by: ${made:-no job}"
[ "$(grep -c '^report: ' "$made")" = 1 ] || fail "the report job made the report more than once"
grep -q '"completed": 4' "$REPORTS/$NAME.summary.json" || fail "the summary does not show 4 completed runs"
[ -s "$REPORTS/$NAME.html" ] || fail "no HTML report"
say "array $array: 4 tasks exited 0, each cell ran once; report job $report made the report once from 4 cells ($((SECONDS - t0))s so far)"

# --- 4. Preemption and requeue --------------------------------------------------------------------------
k=2
victim="${ids[$k]}"
mkdir -p "$RUNS-requeue/$NAME"
for i in 0 1 2 3; do [ "$i" = "$k" ] || cp -a "$RUNS/$NAME/${ids[$i]}" "$RUNS-requeue/$NAME/"; done
dir="$RUNS-requeue/$NAME/$victim"
array2="$(RUNS_DIR="$RUNS-requeue" REPORTS_DIR="$REPORTS-requeue" sbatch --parsable --chdir="$REPO" \
  --array=0-3 --cpus-per-task=1 --mem=1G --time=15 --output="$STATE/logs/slurm-%A_%a.out" \
  deploy/slurm/exp-array.sbatch "$EXP" --profile smoke)"
array2="${array2%%;*}"
jobs_submitted+=("$array2")
task="${array2}_$k"

# 4a. SIGTERM to the task mid-cell: interrupted with a checkpoint, exit 143.
wait_training "$dir" 0
scancel --batch --signal=TERM "$task"
wait_state "$task" FAILED
[ "$(field "$task" ExitCode)" = 143:0 ] || fail "task $task exited $(field "$task" ExitCode) after SIGTERM, not 143"
check interrupted "$dir"
lines="$(wc -l <"$dir/metrics.jsonl")"

# 4b. Requeued, it resumes; stopped again mid-cell by a requeue while running (preemption), it goes back to
#     the queue (not to an end state) with the cell interrupted again.
scontrol requeue "$task"
scontrol update JobId="$task" StartTime=now # a requeued job is otherwise held for two minutes
wait_training "$dir" "$lines"
scontrol requeue "$task"
wait_state "$task" PENDING
deadline=$((SECONDS + TIMEOUT))
until check interrupted "$dir" >/dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { check interrupted "$dir"; fail "the preempted cell was not left interrupted"; }
  sleep 0.2
done
check interrupted "$dir"

# 4c. Released, it finishes; its records equal the uninterrupted array's.
scontrol update JobId="$task" StartTime=now
wait_gone "$array2"
[ "$(field "$task" JobState)" = COMPLETED ] && [ "$(field "$task" ExitCode)" = 0:0 ] ||
  fail "the requeued task ended $(field "$task" JobState) with exit code $(field "$task" ExitCode)"
[ "$(field "$task" Restarts)" = 2 ] || fail "task $task restarted $(field "$task" Restarts) times, expected 2"
states2="$(scontrol show job -o "$array2" | grep -c 'JobState=COMPLETED.*ExitCode=0:0')"
[ "$states2" = 4 ] || fail "not every task of the second array exited 0"
grep -q "resumed from ckpt-" "$dir/manifest.json" || fail "the requeued cell did not resume from a checkpoint"
check same "$RUNS-requeue" "$RUNS" "$NAME" "${ids[@]}"
say "array $array2: task $k stopped by SIGTERM (exit 143) and by a requeue, both mid-cell; resumed twice;" \
  "records equal the uninterrupted run's"
say "passed in $((SECONDS - t0))s"
