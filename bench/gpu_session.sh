#!/usr/bin/env bash
# The GPU benchmark (bench/gpu_speed.py) in one command, for a session lent a GPU by the device tool:
#   bash bench/gpu_session.sh [--full]   (default: --quick, SDXL only; results and log copied to $OUT)
# That machine reaches no package registry, but its python3 (3.12) already holds a CUDA torch,
# transformers, accelerate and safetensors. The rest travels as wheels in .whl/, fetched here first:
#   bash bench/gpu_session.sh --fetch-wheels                     (then run with carry [".whl"])
# Without .whl/ (a machine with a network) it installs .venv with scripts/install.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the gpu part imports beyond that image, at the versions of this repo's .venv.
WHEELS=(diffusers==0.42.1 pydantic==2.14.4 pydantic-core==2.50.5 pydantic-settings==2.16.3 annotated-types==0.8.0
        typing-inspection==0.4.5 typing-extensions==4.16.0 python-dotenv==1.2.4 redis==8.1.0 importlib-metadata==10.2.0)

mode=(--quick)
[[ ${1:-} == --full ]] && mode=()
if [[ ${1:-} == --fetch-wheels ]]; then
    exclude=$(git rev-parse --git-path info/exclude)
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >>"$exclude"
    exec .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "${WHEELS[@]}"
fi

nvidia-smi -L || { echo "gpu_session: no NVIDIA GPU here" >&2; exit 2; }
python=.venv/bin/python
if [[ ! -x $python ]] && compgen -G '.whl/*.whl' >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/midway-site .whl/*.whl
    export PYTHONPATH=/tmp/midway-site
    python=python3
elif [[ ! -x $python ]]; then
    scripts/install.sh
fi
"$python" -c 'import torch; assert torch.cuda.is_available(), f"torch {torch.__version__} sees no GPU"'

# bench/run is `.venv/bin/python -m bench`: the same module, with whichever python holds the CUDA torch.
# The limit leaves the device tool's 600 s per command room to copy the results back.
log=${OUT:-/tmp}/gpu_bench.log
status=0
PYTHONUNBUFFERED=1 timeout "${GPU_BENCH_LIMIT_S:-540}" "$python" -m bench --only gpu "${mode[@]}" 2>&1 \
    | tee "$log" || status=$?
if [[ -n ${OUT:-} ]]; then cp bench/results.json bench/RESULTS.md "$OUT"/ || true; fi
exit "$status"
