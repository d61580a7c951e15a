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
