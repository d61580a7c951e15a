"""The evaluation harness end to end on a tiny held-out set, its statistics and its refusal to overwrite."""
import json

import numpy as np
import pytest

from experiments import evaluate
from jaxfire import evaluation

TINY = ["--grid", "14", "--num-landscapes", "4", "--max-landscapes", "1", "--budgets", "0.02,0.05",
        "--methods", "random,dpv", "--eval-ignitions", "24", "--plan-ignitions", "8", "--max-minutes", "240"]


@pytest.mark.slow
def test_evaluate_writes_tables_and_figures(tmp_path):
    out = tmp_path / "eval"
    result = evaluate.main(TINY + ["--out", str(out)])
    for name in ("eval.json", "eval.csv", "eval.md", "figures/burned_fraction.png"):
        assert (out / name).exists(), name
    rows = json.loads((out / "eval.json").read_text())["rows"]
    methods = {(r["method"], r["budget"]) for r in rows}
    assert methods == {(m, b) for m in ("none", "random", "dpv") for b in (0.02, 0.05)}
    by = {(r["method"], r["budget"]): r for r in rows}
    for budget in (0.02, 0.05):  # breaks never make the same fires burn more
        assert by[("dpv", budget)]["burned_fraction"] <= by[("none", budget)]["burned_fraction"] + 1e-9
        assert by[("none", budget)]["fires"] == 24
    assert result["rows"] == rows
    with pytest.raises(SystemExit, match="already exists"):
        evaluate.main(TINY + ["--out", str(out)])
    evaluate.main(TINY + ["--out", str(out), "--overwrite", "--no-figures", "--methods", "random"])
    assert not (out / "figures").exists()


def test_summary_interval_by_hand():
    stats = evaluation.summarize([0.1, 0.2, 0.3, 0.4])
    assert stats["mean"] == pytest.approx(0.25)
    assert stats["ci95"] == pytest.approx(1.96 * np.std([0.1, 0.2, 0.3, 0.4], ddof=1) / 2)
    assert stats["n"] == 4


def test_unknown_method_is_rejected(tmp_path):
    with pytest.raises(SystemExit, match="unknown method"):
        evaluate.main(TINY + ["--out", str(tmp_path / "x"), "--methods", "magic"])


def test_an_agent_is_evaluated_only_on_landscapes_it_did_not_train_on(tmp_path):
    """Landscape i of a synthetic pool does not depend on the pool's size: an agent trained on a 10-landscape pool
    has seen the landscape of a 4-landscape pool's test split, and the harness must refuse to call them held out."""
    from jaxfire import checkpoint, landscape
    from jaxfire.agents.config import DQNConfig

    run = tmp_path / "agent"
    run.mkdir()
    checkpoint.save_config(run, DQNConfig(landscape_side=14, num_landscapes=10, test_fraction=0.25))
    train, _ = landscape.split_indices(10, 0.25, 0)
    _, small_test = landscape.split_indices(4, 0.25, 0)
    assert set(small_test) <= set(train)  # the case this test is about
    with pytest.raises(SystemExit, match=r"trained on synthetic landscapes \[2\].*--num-landscapes 10"):
        evaluate.main(TINY + ["--out", str(tmp_path / "x"), "--agent", str(run)])
    assert not (tmp_path / "x").exists()
    # its own held-out split, another grid size or another pool seed are fine
    for flags in (["--num-landscapes", "10"], ["--grid", "16"], ["--landscape-seed", "1"]):
        evaluate.validate(evaluate.parse_args(TINY + ["--agent", str(run), *flags]))
