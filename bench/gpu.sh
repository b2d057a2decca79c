#!/usr/bin/env bash
# Runs `deno task bench` with the webgpu backend on a GPU machine that has no Deno and no network: the fused
# trainer (lib/draw/fused.ts on the WGSL kernels of lib/kernels/webgpu), then, for comparison, tfjs autodiff
# at batch 64. Prepare on a machine with Deno, in the repository root:
#   mkdir -p .gpu .gl
#   xz -9 -T2 -c "$(command -v deno)" > .gpu/deno.xz                    # ~30 MB
#   deno bundle --platform deno --minify -o .gpu/bench.js bench/bench.ts  # ~2 MB, no node_modules needed
#   (cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# then, on the GPU machine, from the repository root with .gpu and .gl copied along:
#   OUT=results-dir bash bench/gpu.sh [batch sizes of config b after 64, default "512 2048 8192"]
# Every run's results land in $OUT/<date>-<host>.json, the log in $OUT/log.txt, peak GPU memory per run in it.
set -u
OUT=${OUT:?set OUT to the folder for the results}
budget=${GPU_BENCH_SECONDS:-440}
t0=$(date +%s)
left() { echo $((budget - ($(date +%s) - t0))); }
# The Vulkan loader and GLVND (the NVIDIA ICD, libGLX_nvidia, needs libGLdispatch to create an instance).
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} NO_COLOR=1
xz -dc .gpu/deno.xz >/tmp/deno && chmod +x /tmp/deno
mkdir -p /tmp/gpu-bench && cp .gpu/bench.js /tmp/gpu-bench/ && cd /tmp/gpu-bench || exit 1
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv
  /tmp/deno --version
} 2>&1 | tee "$OUT/machine.txt"
run() { # batch steps warmup configs [impl]
  local l
  l=$(left)
  [ "$l" -lt 30 ] && { echo "skip configs $4 batch $1: $l s left"; return 1; }
  echo "=== configs $4 batch $1 steps $2 impl ${5:-fused} (limit $l s)"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 >"/tmp/mem-$1.txt" &
  local smi=$!
  timeout "$l" /tmp/deno run -A bench.js --configs "$4" --backends webgpu --batch "$1" --steps "$2" \
    --warmup "$3" --eval-images 1000 --impl "${5:-fused}" --label gpu --out "$OUT"
  local rc=$?
  kill $smi
  echo "rc=$rc peak GPU memory MiB: $(sort -n "/tmp/mem-$1.txt" | tail -1)"
  return $rc
}
{
  run 64 20 3 b
  for B in ${1:-512 2048 8192}; do run "$B" 5 1 b || break; done
  run 64 20 3 a,c
  run 64 5 1 b tape
} 2>&1 | tee -a "$OUT/log.txt"
