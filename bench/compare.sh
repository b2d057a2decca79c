#!/usr/bin/env bash
# Measures redraw (deno task bench) and the PyTorch reference implementation of DRAW (torch_draw.py, given as
# TORCH=FILE) alternately, config by config, so that both see the same machine load, and stores everything in
# bench/results/<date>-<host>.json (PyTorch runs as "reference", redraw runs labelled rep1, rep2, ...).
#
# Needs Debian's PyTorch with the OpenMP OpenBLAS:
#   apt-get install -y python3-torch python3-numpy libopenblas0-openmp
# Usage: TORCH=path/to/torch_draw.py bench/compare.sh [configs (default a,b,c)] [repeats (default 2)]
#          [redraw thread counts (default "1 2")]
# OUT=DIR writes the results file and the PyTorch lines there instead of bench/results (a folder per
# comparison keeps comparisons of the same day apart: the results file is named by date and host).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIGS=${1:-a,b,c}
REPEATS=${2:-2}
THREADS=${3:-"1 2"}
TORCH=${TORCH:?set TORCH to the path of torch_draw.py, the PyTorch reference}
PYTHON=${PYTHON:-/usr/bin/python3}
# Only for PyTorch: Deno refuses to start subprocesses (git, lscpu) with LD_LIBRARY_PATH set unless it has
# unrestricted --allow-run, and the bench would then record no git commit.
TORCH_LIBS=/usr/lib/x86_64-linux-gnu/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
REF="$OUT/torch-$(date -u +%Y-%m-%d)-$(hostname).jsonl"

torch_args() {
  case "$1" in
    a) echo "--T 10 --n-z 10 --read-n 2 --write-n 5 --max-steps 30" ;;
    b) echo "--T 64 --n-z 100 --read-n 2 --write-n 5 --max-steps 25" ;;
    c) echo "--T 64 --n-z 100 --no-attention --max-steps 25" ;;
  esac
}

for rep in $(seq "$REPEATS"); do
  for cfg in ${CONFIGS//,/ }; do
    for th in 1 2; do
      load=$(cut -d' ' -f1-3 /proc/loadavg)
      # shellcheck disable=SC2046
      line=$(LD_LIBRARY_PATH=$TORCH_LIBS "$PYTHON" "$TORCH" --synthetic $(torch_args "$cfg") --warmup 5 --no-test --threads "$th" | tail -1)
      # Tag the result line with the time and the load average before the run.
      "$PYTHON" -c 'import json,sys,datetime; r=json.loads(sys.argv[1]); r["at"]=datetime.datetime.now(datetime.timezone.utc).isoformat(); r["loadavg"]=[float(x) for x in sys.argv[2].split()]; print(json.dumps(r))' "$line" "$load" >>"$REF"
      echo "torch $cfg ${th}T: $(tail -1 "$REF" | "$PYTHON" -c 'import json,sys; print(round(json.load(sys.stdin)["images_per_s"],1))') img/s (load $load)"
    done
    for th in $THREADS; do
      deno task bench --configs "$cfg" --threads "$th" --label "rep$rep" --reference "$REF" --out "$OUT" | grep -E "^\| $cfg \| wasm \| $th \| [0-9]+ \| rep$rep " || true
    done
  done
done
deno task bench --configs "" --reference "$REF" --out "$OUT" 2>/dev/null | tail -n +1 || true
