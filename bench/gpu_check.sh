#!/usr/bin/env bash
# GPU checks for dil_ros.accel, for a lent GPU machine without internet (run from the repo root):
#   1. the GPU-only parity tests: CUDA graph, fp16/bf16, AOTInductor on cuda (test/accel)
#   2. suite section a on CUDA: eager, policy.ts, AOTInductor, CUDA graph, fp16, bf16; DDIM-10,
#      batch 1, small (64,128,256) and Chi's (256,512,1024) U-Nets
# Needs a Python with a CUDA build of torch and this package importable (a carried venv):
#   PYTHON=/path/to/venv/bin/python bash bench/gpu_check.sh
# Results go to $OUT (if set) or runs/gpu_check/. Capped at 9 minutes (timeouts below); expect
# 4-7 on an H100, most of it the AOTInductor compiles.
set -u -o pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
DEST="${OUT:-runs/gpu_check}"
mkdir -p "$DEST"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PY" - <<'PY' 2>&1 | tee "$DEST/env.txt"
import torch
print('torch', torch.__version__, 'cuda', torch.version.cuda)
if not torch.cuda.is_available():
    raise SystemExit('gpu_check: torch.cuda.is_available() is False (CPU-only torch or no GPU); '
                     'carry a venv with a CUDA build of torch')
print('gpu', torch.cuda.get_device_name(0))
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 2
command -v nvidia-smi >/dev/null && nvidia-smi >> "$DEST/env.txt" 2>&1

status=0
# 1. parity tests, slow ones included (AOT on cuda); the CPU-only AOT compile is skipped
timeout 240 "$PY" -m pytest -q -rs -s -p no:cacheprovider test/accel \
    -k 'not test_aot_package_matches_policy_ts' \
    --junitxml="$DEST/accel-junit.xml" 2>&1 | tee "$DEST/accel-tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# 2. suite section a on CUDA (CUDA graph and fp16 forms run only here)
timeout 300 "$PY" bench/suite.py --sections a --device cuda --iters 100 --threads 0 \
    --forms eager,torchscript,aot,cuda_graph,fp16,bf16 --nets small,chi --out "$DEST/bench" \
    2>&1 | tee "$DEST/bench.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

echo "gpu_check: exit $status; results in $DEST"
exit $status
