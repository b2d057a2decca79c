#!/usr/bin/env bash
# Submits a redraw experiment to a Slurm cluster: a job array of REDRAW_TASKS tasks (task i runs shard i/n,
# deploy/slurm/exp-array.sbatch), then one job that writes the summary and the report once every task has
# ended (deploy/slurm/exp-report.sbatch, --dependency=afterany). Run it from the repository checkout on the
# cluster's shared filesystem:
#
#   deploy/slurm/submit.sh attention-ablation --profile paper
#
# Resources, from the environment (the defaults submit on a CPU-only cluster):
#   REDRAW_TASKS=4            array tasks (shards); more tasks than runs leaves the extra ones idle
#   REDRAW_CPUS=2             cores per task (also redraw's wasm --threads, at most 8)
#   REDRAW_MEM=8G             memory per task
#   REDRAW_TIME=1-00:00:00    time limit per task (SIGTERM 120 s before it: the cell is checkpointed)
#   REDRAW_PARTITION=         partition (default: the cluster's default partition)
#   REDRAW_GRES=              generic resources per task, e.g. gpu:1 (see the GPU variant below)
#   REDRAW_SBATCH_ARGS=       more sbatch options for both jobs, e.g. "--account=lab --qos=normal"
#   REDRAW_LOG_DIR=.          where the job logs go (slurm-<array>_<task>.out, slurm-<id>-report.out)
#   RUNS_DIR=runs, REPORTS_DIR=reports   inside the checkout (`deno task exp` may write only there)
# Data: --data-dir DIR among the exp options or REDRAW_DATA_DIR (sbatch passes the environment on), else
# the binarized MNIST shipped in the checkout's data/; the smoke profiles use the committed fixtures.
#
# GPU variant (a node with a GPU and the backend's driver):
#   REDRAW_GRES=gpu:1 deploy/slurm/submit.sh attention-ablation --profile paper --backend webgpu
# (or --backend tensorflow where npm:@tensorflow/tfjs-node-gpu is installed, see the README).
#
# Prints the two job ids; `squeue -j <array>,<report>` follows them.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$#" -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
  exit 2
fi

tasks="${REDRAW_TASKS:-4}"
if ! [[ "$tasks" =~ ^[1-9][0-9]*$ ]]; then
  echo "submit: REDRAW_TASKS must be a whole number from 1, got '$tasks'" >&2
  exit 2
fi
logs="${REDRAW_LOG_DIR:-.}"
mkdir -p "$logs"

# A bad experiment name or option fails here, before anything waits in the queue.
if ! deno run -q -P=exp lib/exp/cli.ts "$@" --dry-run >/dev/null; then
  echo "submit: nothing submitted (the exp options above are refused)" >&2
  exit 2
fi

# shellcheck disable=SC2206 # REDRAW_SBATCH_ARGS is a list of options, split on spaces on purpose.
common=(--parsable --chdir="$PWD" ${REDRAW_SBATCH_ARGS:-})
[ -n "${REDRAW_PARTITION:-}" ] && common+=(--partition="$REDRAW_PARTITION")
array_opts=(--array="0-$((tasks - 1))" --cpus-per-task="${REDRAW_CPUS:-2}" --mem="${REDRAW_MEM:-8G}"
  --time="${REDRAW_TIME:-1-00:00:00}" --job-name="redraw-$(basename "$1" .ts)"
  --output="$logs/slurm-%A_%a.out")
[ -n "${REDRAW_GRES:-}" ] && array_opts+=(--gres="$REDRAW_GRES")

array=$(sbatch "${common[@]}" "${array_opts[@]}" deploy/slurm/exp-array.sbatch "$@")
array="${array%%;*}"

# The report job plans the same runs, so it gets the same options, less those that only change training.
report_args=()
skip=0
for a in "$@"; do
  if [ "$skip" = 1 ]; then skip=0 && continue; fi
  case "$a" in
    --force | --retry-failed | --no-wait | --wait | --json) continue ;;
    --poll | --threads) skip=1 && continue ;;
    --poll=* | --threads=*) continue ;;
  esac
  report_args+=("$a")
done
if ! report=$(sbatch "${common[@]}" --dependency="afterany:$array" --mem="${REDRAW_MEM:-8G}" \
  --job-name="redraw-report-$(basename "$1" .ts)" --output="$logs/slurm-%j-report.out" \
  deploy/slurm/exp-report.sbatch "${report_args[@]}"); then
  scancel "$array"
  echo "submit: the report job was refused, so the array $array was cancelled" >&2
  exit 1
fi
report="${report%%;*}"

echo "submitted: array $array ($tasks tasks), report $report (after the array)"
echo "follow: squeue -j $array,$report; logs: $logs/slurm-${array}_<task>.out, $logs/slurm-$report-report.out"
