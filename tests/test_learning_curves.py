"""experiments.bench.learning_curves: runs compared at equal env steps and equal wall time, on hand-made metrics."""
import json

import pytest

from experiments.bench import learning_curves


def make_run(root, name, algorithm, evals, final):
    """A run folder with evaluations ``[(update, env_steps, wall_s, burned)]`` and a last chunk record ``final``
    ``(update, env_steps, wall_s)`` without evaluation."""
    run = root / name
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"algorithm": algorithm}))
    records = [{"update": u, "env_steps": s, "wall_s": w, "eval": {"agent": b, "dpv": 0.1}} for u, s, w, b in evals]
    records.append({"update": final[0], "env_steps": final[1], "wall_s": final[2], "loss": 1.0})
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return run


def test_runs_are_compared_at_the_smaller_budget_of_each_kind(tmp_path):
    # dqn: few env steps, slow; pqn: many env steps, fast.  Equal env steps = 1,000 (dqn's total); equal wall =
    # 200 s (pqn's total).
    dqn = make_run(tmp_path, "dqn", "dqn", [(0, 0, 50.0, 0.20), (100, 800, 150.0, 0.15), (200, 1000, 400.0, 0.12)],
                   (200, 1000, 410.0))
    pqn = make_run(tmp_path, "pqn", "pqn", [(0, 0, 60.0, 0.21), (10, 900, 90.0, 0.18), (20, 5000, 190.0, 0.11)],
                   (20, 5000, 200.0))
    rows = learning_curves.comparison([learning_curves.load_run(dqn), learning_curves.load_run(pqn)])
    assert rows[0] == ["dqn", "dqn", 1000, 410, "0.1200 (1,000)", "0.1500 (150)", "0.1200"]
    assert rows[1] == ["pqn", "pqn", 5000, 200, "0.1800 (900)", "0.1100 (190)", "0.1100"]
    out = tmp_path / "out"
    text = learning_curves.main([str(dqn), str(pqn), "--out", str(out)])
    assert "0.1500 (150)" in text and (out / "learning_curves.png").stat().st_size > 0
    with pytest.raises(FileExistsError, match="--overwrite"):
        learning_curves.main([str(dqn), str(pqn), "--out", str(out)])


def test_bad_run_folders_are_named(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty: not a readable run folder"):
        learning_curves.load_run(empty)
    no_eval = make_run(tmp_path, "no_eval", "dqn", [], (10, 80, 5.0))
    with pytest.raises(ValueError, match="no_eval: metrics.jsonl has no held-out evaluation"):
        learning_curves.load_run(no_eval)
    with pytest.raises(SystemExit):
        learning_curves.main([str(no_eval)])
    assert "at least two" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="error: .*no_eval: metrics.jsonl has no held-out evaluation"):
        learning_curves.main([str(no_eval), str(no_eval)])
    cut = make_run(tmp_path, "cut", "dqn", [(0, 0, 1.0, 0.2)], (10, 80, 5.0))
    with open(cut / "metrics.jsonl", "a") as file:
        file.write('{"update": 20, "env_s')  # a run killed while writing its last record
    assert learning_curves.load_run(cut)["env_steps"] == 80
