# Sourced by the GPU machine scripts (experiments/gpu_train.sh, experiments/bench/gpu_suite.sh): checks OUT,
# installs the packages the GPU image lacks (gymnax and what it imports) from wheels in .whl/ when that folder
# exists, puts the checkout on PYTHONPATH, defines PY (python3, or $PYTHON) and log (appends to $OUT/log.txt), and
# logs the GPU and the JAX devices.
set -u -o pipefail
OUT=${OUT:?set OUT to the output folder}
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:${PYTHONPATH:-} || exit 1
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
PY=${PYTHON:-python3}
log() { tee -a "$OUT/log.txt"; }
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true) 2>&1 | log
$PY -c "import jax; print('jax', jax.__version__, jax.devices())" 2>&1 | log
