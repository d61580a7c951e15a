"""The throughput suite (``python -m experiments.throughput``): runs end to end on tiny settings, the spread-only
sections of ``make bench`` fit the cost-growth exponent, the NumPy seed-style baseline solves the engine's model,
runs merge with --compare, output folders are never overwritten or left half-written, and the shared experiment
CLI validates its device / process arguments."""
import argparse
import json

import jax
import numpy as np
import pytest

import jaxfire
from experiments import common, throughput
from experiments.bench import report
from experiments.bench.report import cost_exponent, cost_exponents
from experiments.bench.seed_baseline import numpy_arrival_times
from experiments.throughput import main
from jaxfire import fire

TINY = ["--quick", "--scaling", "1", "--repeats", "1", "--grids", "12", "--batches", "2,4",
        "--num-envs", "2", "--env-grid", "10", "--env-landscapes", "2", "--env-scenarios", "2", "--env-ignitions", "2",
        "--train-grid", "8", "--train-envs", "2", "--train-chunk", "6", "--train-features", "4", "--train-batch", "4",
        "--train-ignitions", "2", "--train-landscapes", "2", "--scaling-grid", "12", "--scaling-fires", "4",
        "--baseline-grids", "10", "--baseline-fires", "2",
        "--sections", "grid,env,scaling,baseline"]  # training runs in the scaling subprocess (saves a compile)


@pytest.mark.slow
def test_quick_run_writes_json_markdown_and_plot(tmp_path):
    out = tmp_path / "t"
    result = main(TINY + ["--out", str(out)])
    for name in ("throughput.json", "throughput.md", "throughput.png"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "throughput.json").read_text())
    assert saved["machine"]["cpu_count"] >= 1 and saved["machine"]["jax"]
    assert [(r["grid"], r["batch"]) for r in saved["spread"]] == [(12, 2), (12, 4)]
    assert all(r["sims_per_s"] > 0 and r["cells_per_s"] == pytest.approx(r["sims_per_s"] * r["grid"] ** 2)
               for r in saved["spread"])
    assert saved["spread_cost_exponents"] == []  # one grid: nothing to fit
    assert saved["env"]["steps_per_s"] > 0
    (scaling,) = saved["scaling"]  # a subprocess started with --cpu-devices 1
    assert scaling["devices"] == 1 and scaling["burn_speedup"] == pytest.approx(1.0)
    assert scaling["train"]["gradient_steps_in_last_chunk"] > 0 and 0 < scaling["train"]["cpu_busy"] <= 1.5
    assert scaling["burn_probability"]["sims_per_s"] > 0 and scaling["train"]["steps_per_s"] > 0
    methods = {r["method"].split(" (")[0] for r in saved["baseline"]}
    assert methods == {"jax vmap", "numpy serial", "numpy threads", "numpy processes"}
    (summary,) = saved["baseline_summary"]
    assert summary["jax_over_serial"] == pytest.approx(summary["jax_vmap_sims_per_s"]
                                                       / summary["numpy_serial_sims_per_s"])
    assert saved["measurements"] and all(m["value"] > 0 for m in saved["measurements"])
    assert result["measurements"] == saved["measurements"]
    text = (out / "throughput.md").read_text()
    for heading in ("Spread engine", "Environment steps", "Scaling with device count", "Seed-style baseline"):
        assert heading in text


def test_bench_sections_fit_the_cost_exponent(tmp_path):
    """``make bench``'s sections: spread and baseline only, two grids, so the cost-growth exponent is fitted."""
    out = tmp_path / "bench"
    main(["--sections", "grid,baseline", "--repeats", "1", "--grids", "8,16", "--batches", "2",
          "--baseline-grids", "8", "--baseline-fires", "2", "--no-process-pool", "--out", str(out)])
    saved = json.loads((out / "throughput.json").read_text())
    assert not {"env", "train", "scaling"} & set(saved)
    (fit,) = saved["spread_cost_exponents"]
    assert fit["batch"] == 2 and fit["grids"] == [8, 16] and np.isfinite(fit["exponent"])
    assert {m["name"] for m in saved["measurements"]} >= {"spread cost exponent batch 2", "spread 16x16 batch 2"}
    assert {r["method"].split(" (")[0] for r in saved["baseline"]} == {"jax vmap", "numpy serial", "numpy threads"}
    assert "time ~ cells^" in (out / "throughput.md").read_text()


def test_cost_exponent_recovers_a_power_law():
    cells = [32 ** 2, 64 ** 2, 128 ** 2]
    assert cost_exponent(cells, [1e-6 * c ** 1.5 for c in cells]) == pytest.approx(1.5)
    assert cost_exponent([100, 100], [1.0, 2.0]) is None
    rows = [{"grid": g, "batch": b, "median_s": b * g ** 3} for g in (8, 16, 32) for b in (1, 4)] + [
        {"grid": 8, "batch": 16, "median_s": 1.0}]
    fits = cost_exponents(rows)
    assert [(f["batch"], f["grids"]) for f in fits] == [(1, [8, 16, 32]), (4, [8, 16, 32])]
    assert [f["exponent"] for f in fits] == pytest.approx([1.5, 1.5])


@pytest.mark.slow
@pytest.mark.parametrize("max_minutes", [45.0, 480.0])
def test_numpy_baseline_matches_engine(max_minutes):
    landscape = jaxfire.landscape.synthetic(jax.random.key(3), (24, 24))
    grid = fire.spread_grid(landscape, jaxfire.Weather(25.0, 225.0))
    step, first = np.asarray(grid.step_minutes), np.asarray(grid.first_step_minutes)
    burnable = np.asarray(landscape.burnable)
    ignitions = [tuple(int(v) for v in ij) for ij in np.argwhere(burnable)[::97]]
    ignitions.append(tuple(int(v) for v in np.argwhere(~burnable)[0]))  # a non-burnable point source
    expected = np.asarray(fire.solve_many(grid, np.array(ignitions), max_minutes))
    for ignition, want in zip(ignitions, expected):
        got = numpy_arrival_times(step, first, np.asarray(grid.burnable), grid.moves, ignition, max_minutes)
        finite = np.isfinite(want)
        np.testing.assert_array_equal(np.isfinite(got), finite)
        np.testing.assert_allclose(got[finite], want[finite], rtol=1e-5)
    assert np.isinf(got[ignitions[-1]])  # the non-burnable point source itself never burns


def _run(path, backend, processor, values, spread):
    run = {"machine": {"backend": backend, "processor": processor, "gpu": None, "cpu_count": 2},
           "measurements": [{"name": name, "unit": "sims/s", "value": value} for name, value in values.items()],
           "spread": [{"grid": g, "batch": 64, "sims_per_s": s} for g, s in spread]}
    path.write_text(json.dumps(run))
    return str(path)


def test_plot_only_what_was_measured(tmp_path):
    """A run without spread, baseline or pyretechnics rows (e.g. --sections train) writes no empty figure."""
    measured = json.loads(open(_run(tmp_path / "a.json", "cpu", "A", {}, [(32, 100.0), (64, 20.0)])).read())
    assert report.plot(measured, tmp_path / "spread.png") and (tmp_path / "spread.png").stat().st_size > 0
    assert not report.plot(dict(measured, spread=[]), tmp_path / "train.png")
    assert not (tmp_path / "train.png").exists()


def test_compare_merges_runs_with_ratios(tmp_path):
    cpu = _run(tmp_path / "cpu.json", "cpu", "Xeon", {"spread 32x32 batch 64": 100.0, "only cpu": 1.0},
               [(32, 100.0), (64, 20.0)])
    gpu = _run(tmp_path / "gpu.json", "gpu", "H100", {"spread 32x32 batch 64": 2500.0}, [(32, 2500.0)])
    out = tmp_path / "cmp"
    merged = main(["--compare", cpu, gpu, "--out", str(out)])
    rows = {r["name"]: r for r in merged["rows"]}
    assert rows["spread 32x32 batch 64"]["values"] == [100.0, 2500.0]
    assert rows["spread 32x32 batch 64"]["ratios_to_first"] == pytest.approx([1.0, 25.0])
    assert rows["only cpu"]["values"] == [1.0, None]
    assert merged["labels"] == ["cpu: Xeon", "gpu: H100"]
    text = (out / "throughput.md").read_text()
    assert "| spread 32x32 batch 64 | sims/s | 100 | 2500 | 25 |" in text
    assert (out / "throughput.png").stat().st_size > 0
    assert json.loads((out / "throughput.json").read_text())["rows"] == merged["rows"]


def test_refuses_to_overwrite_and_replaces_only_when_told(tmp_path):
    cpu = _run(tmp_path / "a.json", "cpu", "A", {"x": 1.0}, [])
    other = _run(tmp_path / "b.json", "cpu", "B", {"x": 3.0}, [])
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        main(["--compare", cpu, other, "--out", str(out)])
    with pytest.raises(FileExistsError):  # refused before any measurement
        main(["--quick", "--out", str(out)])
    assert (out / "keep.txt").read_text() == "mine"
    merged = main(["--compare", cpu, other, "--out", str(out), "--overwrite"])
    assert merged["rows"][0]["ratios_to_first"] == [1.0, 3.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "existing"]
    assert sorted(p.name for p in out.iterdir()) == ["throughput.json", "throughput.md", "throughput.png"]


def test_failures_leave_no_partial_folder(tmp_path, monkeypatch):
    fresh, kept = tmp_path / "fresh", tmp_path / "kept"
    kept.mkdir()
    (kept / "keep.txt").write_text("mine")
    for bad in (["--grids", "2"], ["--sections", "grid,nope"], ["--train-landscapes", "1"]):
        with pytest.raises(SystemExit):  # a usage error, before anything touches the disk
            main(["--quick", "--out", str(fresh)] + bad)
    with pytest.raises(SystemExit):
        main(["--compare", str(tmp_path / "missing.json"), str(tmp_path / "gone.json"), "--out", str(fresh)])
    assert not fresh.exists()

    def broken(args, info):
        raise RuntimeError("measurement failed")

    monkeypatch.setattr(throughput, "run_sections", broken)
    with pytest.raises(RuntimeError, match="measurement failed"):
        main(["--quick", "--out", str(kept), "--overwrite"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]  # the old folder is back, nothing set aside
    assert (kept / "keep.txt").read_text() == "mine"


def _parallel_args(argv):
    return common.add_parallel_args(argparse.ArgumentParser()).parse_args(argv)


@pytest.mark.parametrize("argv, message", [
    (["--coordinator", "127.0.0.1:1234"], "needs both"),
    (["--coordinator", "127.0.0.1:1234", "--num-processes", "2"], "needs both"),
    (["--num-processes", "2", "--process-id", "0"], "need --coordinator"),
    (["--coordinator", "127.0.0.1:1234", "--num-processes", "2", "--process-id", "2"], "process-id"),
    (["--coordinator", "nohostport", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--cpu-devices", "0"], "cpu-devices"),
])
def test_setup_parallel_rejects_inconsistent_arguments(argv, message):
    with pytest.raises(ValueError, match=message):
        common.setup_parallel(_parallel_args(argv))


def test_setup_parallel_and_machine_description():
    info = common.setup_parallel(_parallel_args([]))
    assert info["process_count"] == 1 and info["device_count"] >= 1 and info["platform"]
    machine = common.machine_description()
    assert machine["cpu_count"] >= 1 and machine["device_count"] == info["device_count"]
    assert machine["jax"] and machine["jaxlib"] and machine["devices"]
    with pytest.raises(SystemExit):  # the CLI turns the same errors into a usage message
        main(["--coordinator", "127.0.0.1:1234", "--out", "unused"])


@pytest.mark.slow
def test_solvers_section_compares_jacobi_and_sweeps(tmp_path):
    """``--sections solvers``: both solvers on the same fires, checked identical, side by side with their ratio."""
    out = tmp_path / "solvers"
    main(["--sections", "solvers", "--repeats", "1", "--solver-grids", "12", "--solver-fires", "3", "--out", str(out)])
    saved = json.loads((out / "throughput.json").read_text())
    (row,) = saved["solvers"]
    assert row["grid"] == 12 and row["fires"] == 3 and row["identical"] and row["auto"] == "jacobi"
    assert row["ratio"] == pytest.approx(row["sweep"]["sims_per_s"] / row["jacobi"]["sims_per_s"])
    assert 0 < row["burned_fraction"] < 1
    names = {m["name"] for m in saved["measurements"]}
    assert {"solver jacobi 12x12 3 fires", "solver sweep 12x12 3 fires", "solver sweep/jacobi 12x12 3 fires"} <= names
    assert "Solvers: Jacobi vs ordered sweeps" in (out / "throughput.md").read_text()
    with pytest.raises(SystemExit):
        main(["--sections", "solvers", "--solver-fires", "0", "--out", str(tmp_path / "bad")])
