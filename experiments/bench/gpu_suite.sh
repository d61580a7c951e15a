#!/usr/bin/env bash
# The throughput suite on a GPU machine: ~11 minutes in all on an H200 (run it as two calls where a call is limited
# to 10 minutes: PARTS="solvers spread", then PARTS="training pqn-full").
#
#   OUT=DIR bash experiments/bench/gpu_suite.sh
#
# Four suites, each in its own folder (so a stop by a time limit keeps the earlier ones): the Jacobi solver against
# the ordered sweeps by grid ("solvers"), the spread engine by grid and batch with solver "auto" ("spread"),
# environment steps and training steps of DQN and PQN ("training"), and PQN at the shape of its GPU preset
# ("pqn-full": 50x50, 1,024 environments x 16 steps, 16 minibatches, 2 epochs, 4 x 32 features).  PARTS="spread
# pqn-full" runs some of them.  Packages the GPU image lacks come from wheels in .whl/ (experiments/gpu_env.sh).
# SIZE=tiny runs the same commands at toy sizes (a dry run on a CPU).
# Merge with a CPU run of the same sections afterwards:
#   python -m experiments.throughput --compare CPU/throughput.json DIR/spread/throughput.json ...
source "$(dirname "$0")/../gpu_env.sh"
if [ "${SIZE:-full}" = tiny ]; then
  SOLVER="--solver-grids 16,24 --solver-fires 8"; GRID="--grids 16,24 --batches 8"; STEPS="--num-envs 4 --env-grid 12"
  TRAIN="--train-grid 8 --train-envs 4 --train-chunk 2 --pqn-envs 4 --pqn-chunk 2 --pqn-minibatches 4"; T=1
  PQN="--train-grid 8 --pqn-envs 4 --pqn-chunk 1 --pqn-rollout-steps 4 --pqn-minibatches 4"
else
  SOLVER="--solver-grids 50,128,256,512 --solver-fires 1024 --solver-work"; GRID="--grids 32,64,128,256,512 --batches 1024,4096"
  STEPS="--num-envs 1024 --env-grid 50"; T=1
  TRAIN="--train-grid 32 --train-envs 64 --train-chunk 10 --pqn-envs 1024 --pqn-chunk 3"
  PQN="--train-grid 50 --pqn-envs 1024 --pqn-chunk 2 --pqn-rollout-steps 16 --pqn-minibatches 16 --pqn-epochs 2
       --train-features 32,32,32,32 --train-ignitions 32"
fi
PARTS=${PARTS:-solvers spread training pqn-full}
part() { case " $PARTS " in *" $1 "*) return 0;; *) return 1;; esac; }

part solvers && timeout $((190 * T)) $PY -m experiments.throughput --sections solvers $SOLVER --repeats 2 --max-seconds 30 \
  --out "$OUT/solvers" 2>&1 | log
part spread && timeout $((190 * T)) $PY -m experiments.throughput --sections grid $GRID --repeats 2 --max-seconds 20 \
  --out "$OUT/spread" 2>&1 | log
part training && timeout $((160 * T)) $PY -m experiments.throughput --sections env,train $STEPS $TRAIN --repeats 2 \
  --out "$OUT/training" 2>&1 | log
part pqn-full && timeout 150 $PY -m experiments.throughput --sections train --train-algos pqn $PQN --repeats 2 \
  --out "$OUT/pqn-full" 2>&1 | log
# The device tool brings back at most 8 files: the figures are dropped (--compare draws the merged one).
[ "${KEEP_FIGURES:-0}" = 1 ] || rm -f "$OUT"/*/throughput.png
