"""Bad input to both command lines: every case fails with a message naming the flag, before any training or
evaluation, and an existing output folder given with ``--overwrite`` is left byte-identical (no data loss).

One end-to-end case trains: a run whose loss diverges stops with a non-zero exit naming the update, keeping no
partial folder.
"""
import json
import math

import pytest

from experiments import evaluate, train_dqn
from experiments.common import json_dumps

TINY = ["--grid", "8", "--num-landscapes", "3", "--test-fraction", "0.34", "--ignitions", "2",
        "--scenarios-per-landscape", "1", "--num-envs", "2", "--buffer-per-env", "32", "--batch-size", "4",
        "--learning-starts", "4", "--features", "4", "--dilations", "1", "--planning-ignitions", "0",
        "--total-updates", "10", "--chunk", "10", "--checkpoint-every", "10", "--eval-every", "1000",
        "--eval-ignitions", "2", "--eval-landscapes", "1", "--no-plots"]


def snapshot(folder) -> dict:
    """Every path under ``folder`` and the bytes of every file, and the names beside it (leftover siblings)."""
    tree = {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}
    return {"tree": tree, "siblings": sorted(p.name for p in folder.parent.iterdir())}


@pytest.fixture
def existing_run(tmp_path):
    """A run folder with content that must survive a failed ``--overwrite``."""
    run = tmp_path / "runs" / "kept"
    (run / "checkpoints" / "10").mkdir(parents=True)
    (run / "config.json").write_text('{"dqn": {}}')
    (run / "metrics.jsonl").write_text('{"update": 10}\n')
    (run / "checkpoints" / "10" / "state").write_bytes(bytes(range(256)))
    return run


TRAIN = [  # (case, flags, message fragment)
    ("learning rate NaN", ["--learning-rate", "nan"], "--learning-rate must be a finite number > 0, got nan"),
    ("learning rate infinite", ["--learning-rate", "inf"], "--learning-rate must be a finite number > 0"),
    ("no updates", ["--total-updates", "0"], "--total-updates must be a whole number >= 1, got 0"),
    ("negative updates", ["--total-updates", "-5"], "--total-updates must be a whole number >= 1, got -5"),
    ("no held-out landscapes", ["--eval-landscapes", "0"], "--eval-landscapes must be >= 1, got 0"),
    ("no evaluation fires", ["--eval-ignitions", "0"], "--eval-ignitions must be >= 1"),
    ("cap NaN", ["--max-minutes", "nan"], "--max-minutes must be a finite number > 0, got nan"),
    ("cap negative", ["--max-minutes", "-1"], "--max-minutes must be a finite number > 0"),
    ("negative wind", ["--wind-kmh-low", "-5"], "--wind-kmh-low must be a finite number >= 0, got -5.0"),
    ("reversed winds", ["--wind-kmh-low", "30", "--wind-kmh-high", "10"], "--wind-kmh-low <= --wind-kmh-high"),
    ("gamma 5", ["--gamma", "5"], "--gamma must be a finite number in [0, 1], got 5.0"),
    ("learning never starts", ["--learning-starts", "64"], "--learning-starts must be < --buffer-per-env (32)"),
    ("12 neighbours", ["--neighbours", "12"], "--neighbours must be 8, 16 or 32, got 12"),
    ("chunk 0", ["--chunk", "0"], "--chunk must be >= 1, got 0"),
    ("checkpoint every 0", ["--checkpoint-every", "0"], "--checkpoint-every must be >= 1, got 0"),
    ("evaluate every 0", ["--eval-every", "0"], "--eval-every must be >= 1, got 0"),
    ("no ignitions", ["--ignitions", "0"], "--ignitions-per-evaluation must be a whole number >= 1, got 0"),
    ("budget above 100 %", ["--budget-fraction", "1.5"], "--budget-fraction must be a finite number in (0, 1]"),
    ("a zero-width layer", ["--features", "4,0", "--dilations", "1,2"], "--features must be a whole number >= 1"),
    ("no batch", ["--batch-size", "0"], "--batch-size must be a whole number >= 1, got 0"),
    ("all landscapes held out", ["--test-fraction", "1.0"], "--test-fraction must be a finite number in (0, 1)"),
    ("one landscape", ["--num-landscapes", "1"], "--num-landscapes must be a whole number >= 2"),
    ("epsilon above 1", ["--epsilon-start", "2"], "--epsilon-start must be a finite number in [0, 1]"),
    ("no gradient clip", ["--max-grad-norm", "0"], "--max-grad-norm must be a finite number > 0"),
    ("zero rewards", ["--reward-scale", "0"], "--reward-scale must be a finite number > 0"),
    ("negative demonstration weight", ["--demo-weight", "-1"], "--demo-weight must be a finite number >= 0"),
    ("unknown demonstrator", ["--demo-baseline", "magic", "--demo-steps", "4"], "--demo-baseline 'magic' is not"),
    ("unknown imitation target", ["--demo-target", "all"], "--demo-target must be next or plan, got 'all'"),
    ("demonstration share above 1", ["--demo-fraction", "1.5"], "--demo-fraction must be a finite number in [0, 1]"),
    ("no target update", ["--target-tau", "0"], "need --target-tau in (0, 1] or --target-period > 0"),
    ("zero devices", ["--cpu-devices", "0"], "--cpu-devices must be >= 1, got 0"),
]


@pytest.mark.parametrize("flags,message", [c[1:] for c in TRAIN], ids=[c[0] for c in TRAIN])
def test_train_refuses_bad_flags_and_keeps_the_run_it_would_overwrite(existing_run, capsys, flags, message):
    before = snapshot(existing_run)
    with pytest.raises(SystemExit) as raised:
        train_dqn.main([*TINY, "--runs-dir", str(existing_run.parent), "--name", "kept", "--overwrite", *flags])
    assert raised.value.code != 0
    assert message in capsys.readouterr().err
    assert snapshot(existing_run) == before


RESUME = [  # (case, change to the saved run, flags, message fragment)
    ("missing run", None, [], "--resume: no checkpoint in"),
    ("corrupt config.json", lambda run: (run / "config.json").write_text("{"), [], "config.json is not valid JSON"),
    ("negative updates", lambda run: None, ["--total-updates", "-5"], "is past --total-updates -5"),
]


@pytest.mark.parametrize("change,flags,message", [c[1:] for c in RESUME], ids=[c[0] for c in RESUME])
def test_resume_refuses_bad_runs(tmp_path, capsys, change, flags, message):
    from jaxfire import checkpoint
    from jaxfire.agents.config import DQNConfig

    run = tmp_path / "r"
    if change is not None:
        checkpoint.save_config(run, DQNConfig(), seed=0, chunk=10, checkpoint_every=10, eval_every=10,
                               eval_ignitions=2, eval_landscapes=1)
        (run / "checkpoints" / "20").mkdir(parents=True)  # a step folder: orbax lists it
        change(run)
    with pytest.raises(SystemExit):
        train_dqn.main(["--runs-dir", str(tmp_path), "--name", "r", "--resume", *flags])
    assert message in capsys.readouterr().err


@pytest.mark.slow
def test_a_diverging_run_stops_naming_the_update_and_keeps_the_old_run(existing_run, capsys):
    """A learning rate of 1e30 is a legal number but sends the parameters to inf/NaN in the first chunk: training
    stops with status 1 naming the chunk, nothing non-finite is checkpointed, and the run being overwritten comes
    back byte-identical (the new run never started: its first chunk failed)."""
    before = snapshot(existing_run)
    with pytest.raises(SystemExit) as raised:
        train_dqn.main([*TINY, "--runs-dir", str(existing_run.parent), "--name", "kept", "--overwrite",
                        "--learning-rate", "1e30"])
    message = str(raised.value.code)
    assert message.startswith("error: training stopped at update 10:") and "in the chunk of updates 1..10" in message
    assert "the network parameters are not finite" in message or "the mean loss is" in message
    assert snapshot(existing_run) == before


EVALUATE = ["--grid", "8", "--num-landscapes", "3", "--test-fraction", "0.34", "--max-landscapes", "1",
            "--methods", "random", "--eval-ignitions", "2", "--plan-ignitions", "2", "--no-figures"]
EVAL_BAD = [  # (case, flags, message fragment)
    ("zero and negative budgets", ["--budgets", "0,-0.5"], "--budgets must be fractions in (0, 1], got [0.0, -0.5]"),
    ("budget above 100 %", ["--budgets", "2.0"], "--budgets must be fractions in (0, 1]"),
    ("NaN budget", ["--budgets", "nan"], "--budgets must be fractions in (0, 1]"),
    ("repeated budget", ["--budgets", "0.05,0.05"], "--budgets has a repeated budget"),
    ("unknown moisture", ["--moisture", "wet"], "unknown moisture scenario 'wet'"),
    ("missing agent", ["--agent", "/nonexistent/run"], "--agent /nonexistent/run: not a run folder"),
    ("cap NaN", ["--max-minutes", "nan"], "--max-minutes must be a positive number"),
    ("negative wind", ["--wind-kmh", "-5"], "wind_speed_kmh must be >= 0"),
    ("NaN wind", ["--wind-kmh", "nan"], "wind_speed_kmh must be finite"),
    ("NaN direction", ["--wind-from-deg", "nan"], "wind_from_deg must be finite"),
    ("no fresh fires", ["--eval-ignitions", "0"], "--eval-ignitions and --plan-ignitions must be >= 1"),
    ("one landscape", ["--num-landscapes", "1"], "--num-landscapes must be >= 2"),
    ("unknown method", ["--methods", "magic"], "unknown method(s) ['magic']"),
    ("zero devices", ["--cpu-devices", "0"], "--cpu-devices must be >= 1"),
    ("no greedy candidates", ["--greedy-candidates", "0"], "--greedy-candidates must be >= 1"),
]


@pytest.fixture
def existing_eval(tmp_path):
    out = tmp_path / "eval"
    (out / "figures").mkdir(parents=True)
    (out / "eval.json").write_text('{"rows": []}')
    (out / "figures" / "bars.png").write_bytes(b"\x89PNG" + bytes(100))
    return out


@pytest.mark.parametrize("flags,message", [c[1:] for c in EVAL_BAD], ids=[c[0] for c in EVAL_BAD])
def test_evaluate_refuses_bad_flags_and_keeps_the_folder_it_would_overwrite(existing_eval, flags, message):
    before = snapshot(existing_eval)
    with pytest.raises(SystemExit) as raised:
        evaluate.main([*EVALUATE, "--out", str(existing_eval), "--overwrite", *flags])
    assert message in str(raised.value.code)
    assert snapshot(existing_eval) == before


def test_evaluate_refuses_a_damaged_agent_before_writing(existing_eval, tmp_path):
    run = tmp_path / "agent"
    run.mkdir()
    (run / "config.json").write_text('{"dqn": {"features": [4], "dilations": [1]}}')
    (run / "checkpoints" / "7").mkdir(parents=True)
    before = snapshot(existing_eval)
    with pytest.raises(SystemExit) as raised:
        evaluate.main([*EVALUATE, "--out", str(existing_eval), "--overwrite", "--agent", str(run)])
    assert "checkpoints/7 is damaged" in str(raised.value.code)
    assert snapshot(existing_eval) == before


def test_json_output_is_strict():
    text = json_dumps({"mean": float("nan"), "rows": [1.0, float("inf")]})
    assert json.loads(text) == {"mean": None, "rows": [1.0, None]}
    assert "NaN" not in text and "Infinity" not in text and not math.isnan(json.loads(text)["rows"][0])
