#!/usr/bin/env bash
# Train the GPU preset's agents on a GPU machine and pack them to bring back (the device tool returns at most 8
# files):
#
#   OUT=DIR SEEDS="0 1" BUDGET=530 bash experiments/gpu_train.sh
#
# One run of `python -m experiments.train --preset gpu --seed S` per seed (SEEDS, default 0), in turn, while BUDGET
# seconds last (default 530; a run is started only with >= 150 s left and stopped at the budget; it then keeps its
# last checkpoint, every 250 updates).  Each run's exported policy (`experiments.export_agent`) with the run's
# metrics.jsonl and summary.json (as run-summary.json) is packed as DIR/gpu-sS.tar.gz (the whole run folder if the
# export fails); the log is DIR/log.txt.  Seeds after the first reuse its compiled programs (a persistent
# compilation cache).  Packages the GPU image lacks come from wheels in .whl/ (experiments/gpu_env.sh).  SIZE=tiny
# trains a toy run instead (a dry run on a CPU).
source "$(dirname "$0")/gpu_env.sh"
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jaxfire-compilation-cache}
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [ "${SIZE:-full}" = tiny ]; then
  TINY="--landscape-side 12 --num-landscapes 8 --num-envs 2 --total-updates 4 --buffer-per-env 16 --batch-size 4
        --features 4,4 --dilations 1,2 --learning-starts 2 --demo-steps 4 --pretrain-steps 2 --planning-ignitions 4
        --ignitions-per-evaluation 2 --chunk 2 --eval-every 2 --checkpoint-every 2 --eval-landscapes 1
        --eval-ignitions 2"
else
  TINY=""
fi
start=$(date +%s)
for seed in ${SEEDS:-0}; do
  left=$(( ${BUDGET:-530} - $(date +%s) + start ))
  if [ "$left" -lt 150 ]; then echo "seed $seed not run: ${left} s of the budget left" | log; break; fi
  name=gpu-s$seed
  timeout "$left" $PY -m experiments.train --preset gpu --seed "$seed" --name $name --runs-dir "$WORK/runs" \
    --no-plots $TINY 2>&1 | log
  echo "$name: training exit status ${PIPESTATUS[0]} after $(( $(date +%s) - start )) s" | log
  if $PY -m experiments.export_agent "$WORK/runs/$name" "$WORK/agents/$name" 2>&1 | log; then
    cp "$WORK/runs/$name/metrics.jsonl" "$WORK/agents/$name/"
    cp "$WORK/runs/$name/summary.json" "$WORK/agents/$name/run-summary.json" 2>/dev/null
    tar -czf "$OUT/$name.tar.gz" -C "$WORK/agents" "$name"
  else  # the whole run folder, to export here
    tar -czf "$OUT/$name.tar.gz" -C "$WORK/runs" "$name"
  fi
  echo "packed $OUT/$name.tar.gz ($(du -h "$OUT/$name.tar.gz" | cut -f1))" | log
done
