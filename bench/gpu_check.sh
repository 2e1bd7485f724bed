#!/usr/bin/env bash
# GPU checks for dil_ros.accel, for a lent GPU machine without internet (run from the repo root):
#   1. the GPU-only parity tests: CUDA graph (state-only and camera policies, frames at a new
#      native size), fp16/bf16, AOTInductor on cuda (test/accel)
#   2. suite section a on CUDA: eager, policy.ts, AOTInductor, CUDA graph, fp16, bf16; DDIM-10,
#      batch 1, small (64,128,256) and Chi's (256,512,1024) U-Nets
#   3. suite section f on CUDA: the small U-Net with one and two 96x96 cameras (encoder widths 16
#      and 64): eager, policy.ts, CUDA graph, fp16, bf16 (F_FORMS=...,aot adds AOTInductor, one
#      compile per configuration)
# Needs a Python with a CUDA build of torch and this package importable (a carried venv):
#   PYTHON=/path/to/venv/bin/python bash bench/gpu_check.sh
# Results go to $OUT (if set) or runs/gpu_check/. Capped at 9.5 minutes (timeouts below); expect
# 5-8 on an H100, most of it the AOTInductor compiles. STEPS=tests,a,f picks steps.
# CHECK_ON_CPU=1 runs the same commands on the CPU in seconds (tests collected only, one tiny
# configuration per bench step): a check of the script itself, not of a GPU.
set -u -o pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
DEST="${OUT:-runs/gpu_check}"
STEPS="${STEPS:-tests,a,f}"
F_FORMS="${F_FORMS:-eager,torchscript,cuda_graph,fp16,bf16}"
mkdir -p "$DEST"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ "${CHECK_ON_CPU:-0}" = 1 ]; then
    DEVICE=cpu
    LIMITS=(600 600 600)    # a shared CPU can be slow even at these sizes
    TEST_ARGS=(--co)
    A_ARGS=(--tiny --iters 2 --forms eager,torchscript --threads 1)
    F_ARGS=(--widths 16 --cameras 1 --runs 1 --steps 2 --forms eager,torchscript --threads 1)
else
    DEVICE=cuda
    LIMITS=(200 240 130)    # tests, a, f: 9.5 minutes together
    TEST_ARGS=()
    A_ARGS=(--iters 100 --threads 0 --forms eager,torchscript,aot,cuda_graph,fp16,bf16
            --nets small,chi)
    F_ARGS=(--runs 50 --threads 0 --forms "$F_FORMS" --widths 16,64 --cameras 1,2)
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
fi

status=0
has() { [[ ",$STEPS," == *",$1,"* ]]; }

if has tests; then
    # 1. parity tests, slow ones included (AOT on cuda); the CPU-only AOT compiles are skipped
    timeout "${LIMITS[0]}" "$PY" -m pytest -q -rs -s -p no:cacheprovider "${TEST_ARGS[@]}" test/accel \
        -k 'not test_aot_package_matches_policy_ts and not test_camera_policy_aot_on_cpu' \
        --junitxml="$DEST/accel-junit.xml" 2>&1 | tee "$DEST/accel-tests.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if has a; then
    # 2. suite section a (CUDA graph and fp16 forms run only on a GPU)
    timeout "${LIMITS[1]}" "$PY" bench/suite.py --sections a --device "$DEVICE" "${A_ARGS[@]}" \
        --out "$DEST/bench" 2>&1 | tee "$DEST/bench.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if has f; then
    # 3. section f, cameras (bench_vision_policy.py exits 1 if a form fails or leaves parity)
    timeout "${LIMITS[2]}" "$PY" bench/bench_vision_policy.py --device "$DEVICE" "${F_ARGS[@]}" \
        --json "$DEST/vision.json" 2>&1 | tee "$DEST/vision.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

echo "gpu_check: exit $status; results in $DEST"
exit $status
