"""The throughput suite's pyretechnics column: skipped with a note without a reference environment, a broken one
noted without a crash, and (when ``make reference-env`` has built ``.venv-reference``) the runner agrees with
jaxfire on small homogeneous grids whose fire direction tests each of its conversions."""
import json
import sys

import jax
import numpy as np
import pytest

import jaxfire
from experiments.bench import measure, pyre_column
from experiments.throughput import main
from jaxfire import fire, landscape

SPREAD_ONLY = ["--sections", "grid,pyretechnics", "--repeats", "1", "--grids", "8", "--batches", "2"]


def test_column_skipped_with_a_note_without_reference_env(tmp_path, monkeypatch):
    monkeypatch.setattr(pyre_column, "DEFAULT_PYTHON", tmp_path / "no-env" / "bin" / "python")
    out = tmp_path / "t"
    result = main(SPREAD_ONLY + ["--out", str(out)])
    assert result["pyretechnics"] == [] and result["spread"]
    saved = json.loads((out / "throughput.json").read_text())
    assert any("pyretechnics column skipped" in note and "make reference-env" in note for note in saved["notes"])
    assert "pyretechnics column skipped" in (out / "throughput.md").read_text()
    assert not any(m["name"].startswith("pyretechnics") for m in saved["measurements"])


@pytest.mark.parametrize("bad", [["--pyretechnics", "/no/such/python"], ["--sections", "pyretechnics"],
                                 ["--pyre-fires", "0"]])
def test_bad_pyretechnics_arguments_are_usage_errors(tmp_path, bad):
    with pytest.raises(SystemExit):
        main(SPREAD_ONLY + ["--out", str(tmp_path / "t")] + bad)
    assert not (tmp_path / "t").exists()


def test_broken_reference_env_is_noted_not_fatal(tmp_path):
    """The project's interpreter has no pyretechnics: the runner fails, the suite notes why and carries on."""
    result = main(SPREAD_ONLY + ["--pyretechnics", sys.executable, "--out", str(tmp_path / "t")])
    assert result["pyretechnics"] == []
    (note,) = [n for n in result["notes"] if n.startswith("pyretechnics 8x8")]
    assert "runner failed" in note and "pyretechnics" in note.split("runner failed", 1)[1]


FAKE_RUNNER = """
import json, sys
import numpy as np
data = dict(np.load(sys.argv[1]))
H, W = data["fuel_model"].shape
fires = []
for row, col in data["ignitions"]:
    rows, cols = np.mgrid[:H, :W]
    steps = np.maximum(abs(rows - row), abs(cols - col))
    fires.append({"ignition": [int(row), int(col)], "wall_s": 0.02, "cpu_s": 0.01, "burned_cells": int((steps <= 2).sum()),
                  "stop_condition": "max duration reached",
                  "arrival_minutes": [[10.0 * s if s <= 2 else None for s in line] for line in steps.tolist()]})
echo = {k: (v.tolist() if k == "ignitions" or v.ndim < 2 else list(v.shape)) for k, v in data.items()}
json.dump({"pyretechnics": "fake", "numpy": np.__version__, "grid": [H, W], "cores": 1, "fires": fires,
           "echo": echo}, open(sys.argv[2], "w"))
"""


def test_agreement_counts_and_iou():
    """IoU over every fire; burned ratio and IoU over the fires pyretechnics ran to the cap."""
    ours = np.full((2, 3, 3), np.inf)
    ours[:, 0, :] = [0.0, 1.0, 2.0]  # 3 cells in both
    theirs = {"burned_cells": 2, "stop_condition": "max duration reached",
              "arrival_minutes": [[0.0, None, None], [1.0, None, None], [None, None, None]]}
    out = {"burned_cells": 1, "stop_condition": "no burnable cells",
           "arrival_minutes": [[0.0, None, None], [None, None, None], [None, None, None]]}
    assert pyre_column.agreement(ours[:1], [theirs]) == {"stopped_early": 0, "burned_ratio_mean": 1.5,
                                                         "iou_mean": 0.25, "iou_min": 0.25, "iou_mean_all": 0.25}
    assert pyre_column.agreement(ours, [theirs, out]) == {"stopped_early": 1, "burned_ratio_mean": 1.5,
                                                          "iou_mean": 0.25, "iou_min": 0.25,
                                                          "iou_mean_all": pytest.approx((0.25 + 1 / 3) / 2)}
    assert pyre_column.agreement(ours[1:], [out])["iou_mean"] is None


def test_column_rows_from_a_faked_runner(tmp_path, monkeypatch):
    """The column's own logic without pyretechnics: a fake runner (burns a 5x5 square in 20 ms a fire) in place of
    the real one; the input it receives, the row's ratio and agreement, the report table and the measurements."""
    runner = tmp_path / "fake_runner.py"
    runner.write_text(FAKE_RUNNER)
    monkeypatch.setattr(pyre_column, "RUNNER", runner)
    seen = []
    real_run = pyre_column.run
    monkeypatch.setattr(pyre_column, "run", lambda *a, **k: seen.append(real_run(*a, **k)) or seen[-1])
    out = tmp_path / "t"
    result = main(SPREAD_ONLY + ["--pyretechnics", sys.executable, "--pyre-fires", "2", "--wind-from-deg", "180",
                                 "--out", str(out)])
    (row,) = result["pyretechnics"]
    (jax_row,) = result["spread"]
    (echo,) = [o["echo"] for o in seen]
    land = landscape.synthetic(jax.random.key(0), (8, 8))
    ignitions = np.asarray(measure.sample_fires(land, 2, 0))
    assert echo["ignitions"] == ignitions.tolist() and echo["fuel_model"] == [8, 8]
    assert echo["wind_kmh"] == 20.0 and echo["wind_from_deg"] == 180.0 and echo["max_minutes"] == 480.0
    assert len(echo["moisture"]) == 5 and echo["arrival_times"] is True
    assert row["grid"] == 8 and row["fires"] == 2 and row["pyretechnics"] == "fake" and row["jax_batch"] == 2
    assert row["seconds_per_sim"] == pytest.approx(0.02) and row["cpu_busy"] == pytest.approx(0.5)
    assert row["jax_sims_per_s"] == jax_row["sims_per_s"]
    assert row["speedup"] == pytest.approx(jax_row["sims_per_s"] * 0.02)
    assert row["speedup_per_core"] == pytest.approx(row["speedup"] / row["jax_cores"])
    ours = np.asarray(fire.solve_many(fire.spread_grid(land, jaxfire.Weather(20.0, 180.0)), ignitions, 480.0))
    expected = pyre_column.agreement(ours, seen[0]["fires"])
    assert {k: row[k] for k in expected} == pytest.approx(expected)
    md = (out / "throughput.md").read_text()
    assert "## pyretechnics (the real simulator)" in md and "| 8x8 | 2 |" in md and "stopped early" in md
    names = {m["name"]: m["value"] for m in json.loads((out / "throughput.json").read_text())["measurements"]}
    assert names["pyretechnics 8x8, 1 core"] == pytest.approx(50.0)
    assert names["jaxfire / pyretechnics 8x8"] == pytest.approx(row["speedup"])
    assert names["jaxfire vs pyretechnics burned IoU 8x8"] == pytest.approx(row["iou_mean_all"])


needs_reference = pytest.mark.skipif(not pyre_column.DEFAULT_PYTHON.exists(),
                                     reason="no .venv-reference (make reference-env)")


@needs_reference
@pytest.mark.parametrize("wind_from, slope_deg, ignition, heading", [
    (270.0, 0.0, (10, 8), (0, 1)),   # west wind: the fire runs east, up to the east edge (the padded column)
    (0.0, 0.0, (2, 10), (1, 0)),     # north wind: it runs south (the row flips, far from the mirror image)
    (0.0, 25.0, (15, 10), (-1, 0)),  # calm on a south-facing slope (aspect 180): it runs upslope, north
])
def test_runner_agrees_with_jaxfire_on_grass(wind_from, slope_deg, ignition, heading):
    """20x20 GS2, 60 min; a 20 km/h wind (none on the slope): burned counts within 15 % of jaxfire's, the burned
    cells mostly shared, the fire heading the same way, and the output JSON has its fields."""
    shape, wind = (20, 20), 0.0 if slope_deg else 20.0
    land = landscape.from_arrays(np.full(shape, 122), np.full(shape, slope_deg), np.full(shape, 180.0))
    weather = jaxfire.Weather(wind, wind_from)
    out = pyre_column.run(pyre_column.DEFAULT_PYTHON, land, weather, np.array([ignition]), 60.0, timeout_s=300)
    assert out["pyretechnics"] == "2026.10.20" and out["numpy"].startswith("1.26.") and out["cores"] == 1
    assert out["grid"] == [20, 20]
    (result,) = out["fires"]
    assert result["ignition"] == list(ignition) and result["wall_s"] > 0 and result["cpu_s"] >= 0
    assert result["stop_condition"] == "max duration reached"
    theirs = np.array([[np.nan if t is None else t for t in row] for row in result["arrival_minutes"]])
    assert theirs.shape == shape and theirs[ignition] == 0.0
    assert result["burned_cells"] == np.isfinite(theirs).sum() > 10
    ours = np.asarray(fire.arrival_times(land, weather, ignition, max_minutes=60.0))
    assert np.isfinite(ours).sum() == pytest.approx(result["burned_cells"], rel=0.15)
    agree = pyre_column.agreement(ours[None], [result])
    assert agree["iou_min"] > 0.75
    centroid = np.argwhere(np.isfinite(theirs)).mean(0) - np.array(ignition)
    assert np.dot(centroid, heading) > 1.0  # cells, in the expected direction
    assert np.isfinite(theirs[:, -1]).any() == np.isfinite(ours[:, -1]).any()  # the fire reaches the east edge
