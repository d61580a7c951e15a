"""The throughput suite runs end to end on tiny settings, merges runs with --compare, refuses to overwrite, and
the shared experiment CLI validates its device / process arguments."""
import argparse
import json

import pytest

from experiments import common
from experiments.throughput import main

TINY = ["--quick", "--scaling", "1", "--repeats", "1", "--grids", "12", "--batches", "2,4",
        "--num-envs", "2", "--env-grid", "10", "--env-landscapes", "2", "--env-scenarios", "2", "--env-ignitions", "2",
        "--train-grid", "8", "--train-envs", "2", "--train-chunk", "6", "--train-features", "4", "--train-batch", "4",
        "--train-ignitions", "2", "--train-landscapes", "2", "--scaling-grid", "12", "--scaling-fires", "4",
        "--baseline-grids", "10", "--baseline-fires", "2",
        "--sections", "grid,env,scaling,baseline"]  # training runs in the scaling subprocess (saves a compile)


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
    assert saved["env"]["steps_per_s"] > 0
    (scaling,) = saved["scaling"]
    assert scaling["train"]["gradient_steps_in_last_chunk"] > 0 and 0 < scaling["train"]["cpu_busy"] <= 1.5
    assert scaling["devices"] == 1 and scaling["burn_speedup"] == pytest.approx(1.0)
    assert scaling["burn_probability"]["sims_per_s"] > 0 and scaling["train"]["steps_per_s"] > 0
    methods = {r["method"].split(" (")[0] for r in saved["baseline"]}
    assert methods == {"jax vmap", "numpy serial", "numpy threads", "numpy processes"}
    (summary,) = saved["baseline_summary"]
    assert summary["jax_over_serial"] == pytest.approx(summary["jax_vmap_sims_per_s"]
                                                       / summary["numpy_serial_sims_per_s"])
    assert saved["measurements"] and all(m["value"] > 0 for m in saved["measurements"])
    assert result["measurements"] == saved["measurements"]
    text = (out / "throughput.md").read_text()
    for heading in ("Spread engine", "Environment steps", "Scaling with device count",
                    "Seed-style baseline"):
        assert heading in text


def _run(path, backend, processor, values, spread):
    run = {"machine": {"backend": backend, "processor": processor, "gpu": None, "cpu_count": 2},
           "measurements": [{"name": name, "unit": "sims/s", "value": value} for name, value in values.items()],
           "spread": [{"grid": g, "batch": 64, "sims_per_s": s} for g, s in spread]}
    path.write_text(json.dumps(run))
    return str(path)


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


def test_refuses_to_overwrite(tmp_path):
    cpu = _run(tmp_path / "a.json", "cpu", "A", {"x": 1.0}, [])
    other = _run(tmp_path / "b.json", "cpu", "B", {"x": 3.0}, [])
    out = tmp_path / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="--overwrite"):
        main(["--compare", cpu, other, "--out", str(out)])
    with pytest.raises(FileExistsError):  # refused before any measurement
        main(["--quick", "--out", str(out)])
    merged = main(["--compare", cpu, other, "--out", str(out), "--overwrite"])
    assert merged["rows"][0]["ratios_to_first"] == [1.0, 3.0]
    assert (out / "keep.txt").read_text() == "mine"


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
