"""The GPU machine's training script, dry-run on a CPU at toy size (``SIZE=tiny``): it trains, exports and packs an
agent that loads as a policy."""
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_train_script_packs_a_loadable_agent_per_seed_within_its_budget(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OUT": str(out), "SIZE": "tiny", "SEEDS": "0 1", "BUDGET": "100000", "PYTHON": sys.executable,
           "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run(["bash", "experiments/gpu_train.sh"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    assert sorted(p.name for p in out.iterdir()) == ["gpu-s0.tar.gz", "gpu-s1.tar.gz", "log.txt"]
    from jaxfire.agents import load_policy

    for seed in (0, 1):
        with tarfile.open(out / f"gpu-s{seed}.tar.gz") as packed:
            packed.extractall(tmp_path / "agents", filter="data")
        agent = tmp_path / "agents" / f"gpu-s{seed}"
        assert {"config.json", "checkpoints", "metrics.jsonl", "run-summary.json"} <= {p.name for p in agent.iterdir()}
        policy = load_policy(agent)
        assert policy.config.num_envs == 2  # the toy run's, not the preset's 64
    assert "training exit status 0" in (out / "log.txt").read_text()

    # A budget too small to start a run: nothing is trained, and the log says why.
    out2 = tmp_path / "out2"
    out2.mkdir()
    subprocess.run(["bash", "experiments/gpu_train.sh"], cwd=ROOT, env={**env, "OUT": str(out2), "BUDGET": "10"},
                   check=True, capture_output=True, timeout=300)
    assert sorted(p.name for p in out2.iterdir()) == ["log.txt"]
    assert "seed 0 not run" in (out2 / "log.txt").read_text()
