"""Search workers on GPUs: the placement rule, discovery, --gpus, what a spawned worker sees, and a
CPU smoke run of benchmarks/search_workers.py."""
import multiprocessing
import os
import subprocess
import sys

import pytest
import yaml

from explorer.search import placement
from explorer.search.placement import Gpu, VisibleGpus
from splitbase import StudyError

H200 = "NVIDIA H200"
SMI_4 = "".join(f"{i}, {H200}\n" for i in range(4))


def gpus(*indices, order="PCI_BUS_ID"):
    return VisibleGpus(tuple(Gpu(str(i), H200) for i in indices), order)


def visible_of(envs):
    return [env.get("CUDA_VISIBLE_DEVICES") for env in envs]


@pytest.mark.parametrize("workers, count, expected", [
    (1, 4, ["0"]),                                  # N < G: the first GPUs, one each
    (3, 4, ["0", "1", "2"]),
    (4, 4, ["0", "1", "2", "3"]),                   # N = G
    (6, 4, ["0", "1", "2", "3", "0", "1"]),         # N > G: round robin
    (4, 1, ["0", "0", "0", "0"]),                   # one GPU shared by all
    (3, 0, [None, None, None]),                     # CPU machine: nothing set
])
def test_worker_i_gets_gpu_i_mod_g(workers, count, expected):
    envs = placement.place(workers, gpus(*range(count)))
    assert visible_of(envs) == expected
    assert all(env.get("CUDA_DEVICE_ORDER") == ("PCI_BUS_ID" if count else None) for env in envs)


def test_gpus_override_picks_positions_of_the_visible_list():
    chosen = placement.select(gpus(0, 1, 2, 3), "3,1")
    assert visible_of(placement.place(3, chosen)) == ["3", "1", "3"]
    assert placement.select(gpus(0, 1), "all") == gpus(0, 1)
    assert placement.select(gpus(0, 1), None) == gpus(0, 1)


def test_inherited_cuda_visible_devices_is_the_visible_list_in_its_order():
    def no_query():
        raise AssertionError("nvidia-smi must not be asked when CUDA_VISIBLE_DEVICES is set")

    visible = placement.discover({"CUDA_VISIBLE_DEVICES": "4, 6,GPU-ab12"}, query=no_query)
    assert visible == VisibleGpus((Gpu("4"), Gpu("6"), Gpu("GPU-ab12")), None)
    # --gpus counts in this process's numbering: position 1 is physical GPU 6; the order is inherited
    assert placement.place(2, placement.select(visible, "1")) == [{"CUDA_VISIBLE_DEVICES": "6"}] * 2
    assert placement.discover({"CUDA_VISIBLE_DEVICES": "2,-1,3"}, query=no_query).gpus == (Gpu("2"),)
    assert placement.discover({"CUDA_VISIBLE_DEVICES": ""}, query=no_query).gpus == ()


def test_discovery_by_nvidia_smi_or_none():
    assert placement.discover({}, query=lambda: SMI_4) == gpus(0, 1, 2, 3)
    assert placement.discover({}, query=lambda: None) == VisibleGpus(())
    assert placement.worker_envs(3, "1", {"CUDA_VISIBLE_DEVICES": "5,7"}) == [{"CUDA_VISIBLE_DEVICES": "7"}] * 3


@pytest.mark.parametrize("spec, words", [
    ("4", ["--gpus", "no GPU 4", "0: 0 (NVIDIA H200)"]),
    ("0,7,9", ["--gpus", "no GPU 7, 9"]),
    ("-1", ["--gpus", "no GPU -1"]),
    ("0,x", ["--gpus", "'all' or GPU indices"]),
    ("", ["--gpus"]),
    ("1,1", ["--gpus", "twice"]),
])
def test_bad_gpus_is_one_study_error_naming_the_flag(spec, words):
    with pytest.raises(StudyError) as error:
        placement.select(gpus(0, 1, 2, 3), spec)
    message = str(error.value)
    assert "\n" not in message and all(word in message for word in words)


def test_gpus_on_a_cpu_machine_is_refused():
    with pytest.raises(StudyError, match=r"--gpus 0: no GPU 0 here \(visible GPUs: none\)"):
        placement.select(VisibleGpus(()), "0")


def _report_environment(queue) -> None:
    queue.put((os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("CUDA_DEVICE_ORDER")))


def test_a_spawned_worker_sees_the_environment_the_rule_gives(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    envs = placement.place(3, VisibleGpus((Gpu("2"), Gpu("3")), "PCI_BUS_ID"))
    context = multiprocessing.get_context("spawn")  # as explorer.search.run starts its workers
    queue = context.Queue()
    seen = []
    for env in envs:
        process = context.Process(target=_report_environment, args=(queue,))
        placement.start(process, env)
        seen.append(queue.get(timeout=120))
        process.join(timeout=120)
        assert process.exitcode == 0
    assert seen == [("2", "PCI_BUS_ID"), ("3", "PCI_BUS_ID"), ("2", "PCI_BUS_ID")]
    # this process's environment is as it was
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1,2,3" and "CUDA_DEVICE_ORDER" not in os.environ


def test_a_cpu_process_has_no_gpu_to_record():
    assert placement.current_gpu() is None  # CUDA never initialised here (CPU training)
    assert Gpu("3", H200).label() == "3 (NVIDIA H200)" and Gpu("GPU-ab").label() == "GPU-ab"


def test_benchmark_runs_on_the_cpu_with_a_tiny_study(tmp_path):
    from tests.explorer.search.search_cases import ROOT, STUDY, python_path

    study = tmp_path / "tiny.yaml"
    study.write_text(yaml.safe_dump({**STUDY, "output": str(tmp_path / "out")}))
    env = {**os.environ, "PYTHONPATH": python_path(), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "search_workers.py"), str(study),
                           "--trials", "2", "--workers", "1", "--cache-dir", str(tmp_path / "cache"),
                           "--output", str(tmp_path / "bench")], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "GPUs: none; worker counts [1]" in done.stdout and "x1.00 vs 1 worker" in done.stdout
    lines = (tmp_path / "bench" / "workers.csv").read_text().splitlines()
    assert lines[0] == "workers,candidates,wall_s,candidates_per_hour,ratio_to_1,gpus"
    assert [line.split(",")[:2] for line in lines[1:]] == [["1", "2"]]
    assert (tmp_path / "bench" / "provenance.json").exists()
