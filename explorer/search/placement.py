"""Search workers on GPUs: which GPU each worker process sees, and which GPU trained a trial.

The rule (issue 19): with N workers and the visible GPUs g_0 .. g_{G-1} (all of them, or those
`--gpus` names), worker i sees g_(i mod G) alone, through `CUDA_VISIBLE_DEVICES` in its
environment before it starts; more workers than GPUs share them round-robin; G = 0 (a CPU machine)
changes no environment.

Discovery does not initialise CUDA in the calling process (the search's parent trains the base
model and spawns the workers; a CUDA context there would hold memory on a GPU the workers use):

- when `CUDA_VISIBLE_DEVICES` is set, its entries are the visible GPUs, in its order (indices or
  UUIDs, under the inherited `CUDA_DEVICE_ORDER`; an empty value, or an entry like -1, ends the
  list, as CUDA reads it);
- otherwise `nvidia-smi --query-gpu=index,name` lists them (no CUDA context, names included), and
  the workers get `CUDA_DEVICE_ORDER=PCI_BUS_ID` so that CUDA numbers them as nvidia-smi does
  (CUDA's default order puts the fastest first);
- no nvidia-smi, or one that fails (no driver): no GPU.

`torch.cuda.device_count()` is not used: it is an NVML count when NVML answers, else
`cudaGetDeviceCount`, which loads the driver in the parent; and it gives neither names nor the
physical index a worker must be given.
"""
from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from splitbase import StudyError

VISIBLE = "CUDA_VISIBLE_DEVICES"
ORDER = "CUDA_DEVICE_ORDER"
NVIDIA_SMI = ("nvidia-smi", "--query-gpu=index,name", "--format=csv,noheader")
NVIDIA_SMI_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Gpu:
    """One GPU as a worker is given it: `index` as `CUDA_VISIBLE_DEVICES` names it (the physical
    index, or a UUID), `name` the product name ("" when discovery did not give it)."""

    index: str
    name: str = ""

    def label(self) -> str:
        return f"{self.index} ({self.name})" if self.name else self.index


@dataclass(frozen=True)
class VisibleGpus:
    """The GPUs workers may be placed on, in order; `order` is the CUDA_DEVICE_ORDER their
    indices are in, set in each worker (None: the inherited one applies)."""

    gpus: tuple[Gpu, ...]
    order: str | None = None


def _nvidia_smi() -> str | None:
    """nvidia-smi's `index, name` lines, or None when there is none that answers."""
    try:
        done = subprocess.run(NVIDIA_SMI, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def visible_entries(environ: Mapping[str, str]) -> tuple[str, ...] | None:
    """The entries of CUDA_VISIBLE_DEVICES up to the first invalid one (empty or negative), as CUDA
    reads them; None when it is not set."""
    if VISIBLE not in environ:
        return None
    entries = []
    for entry in (part.strip() for part in environ[VISIBLE].split(",")):
        if not entry or entry.startswith("-"):
            break
        entries.append(entry)
    return tuple(entries)


def discover(environ: Mapping[str, str] = os.environ,
             query: Callable[[], str | None] = _nvidia_smi) -> VisibleGpus:
    """The GPUs visible to this process without initialising CUDA (see the module's docstring);
    `query` returns nvidia-smi's `index, name` lines (None: no nvidia-smi)."""
    entries = visible_entries(environ)
    if entries is not None:
        return VisibleGpus(tuple(Gpu(entry) for entry in entries))
    listing = query()
    if listing is None:
        return VisibleGpus(())
    gpus = []
    for line in filter(None, (line.strip() for line in listing.splitlines())):
        index, _, name = line.partition(",")
        gpus.append(Gpu(index.strip(), name.strip()))
    return VisibleGpus(tuple(gpus), "PCI_BUS_ID")


def select(visible: VisibleGpus, spec: str | None) -> VisibleGpus:
    """The GPUs `--gpus` names: "all" (or None) keeps every visible one; "0,2" takes those
    positions of the visible list (the indices torch gives them in this process: with
    CUDA_VISIBLE_DEVICES=4,5, `--gpus 1` is physical GPU 5). StudyError naming --gpus otherwise."""
    if spec is None or spec.strip() == "all":
        return visible
    shown = ", ".join(f"{i}: {gpu.label()}" for i, gpu in enumerate(visible.gpus)) or "none"
    try:
        positions = [int(part) for part in spec.split(",")]
    except ValueError:
        raise StudyError(f"--gpus must be 'all' or GPU indices like 0,1, got {spec!r}") from None
    unknown = [p for p in positions if not 0 <= p < len(visible.gpus)]
    if unknown:
        raise StudyError(f"--gpus {spec}: no GPU {', '.join(map(str, unknown))} here (visible GPUs: {shown})")
    if len(set(positions)) != len(positions):
        raise StudyError(f"--gpus {spec}: a GPU is named twice")
    return VisibleGpus(tuple(visible.gpus[p] for p in positions), visible.order)


def place(workers: int, visible: VisibleGpus) -> list[dict[str, str]]:
    """The environment to add for each of `workers` (>= 1) processes: worker i gets
    CUDA_VISIBLE_DEVICES = the (i mod G)-th GPU (and the device order its index is in); on a
    machine with no GPU, nothing ({})."""
    gpus = visible.gpus
    if not gpus:
        return [{} for _ in range(workers)]
    order = {ORDER: visible.order} if visible.order else {}
    return [{VISIBLE: gpus[rank % len(gpus)].index, **order} for rank in range(workers)]


def worker_envs(workers: int, spec: str | None, environ: Mapping[str, str] = os.environ) -> list[dict[str, str]]:
    """place(workers, the GPUs `--gpus` = `spec` names among those discovered here)."""
    return place(workers, select(discover(environ), spec))


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `env` added inside the block, restored after. A process started inside
    (multiprocessing's spawn or fork) inherits it; CUDA in this process reads it only if first
    initialised inside."""
    before = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start(process, env: Mapping[str, str]) -> None:
    """Start a multiprocessing `process` with `env` in its environment from its first instruction
    (before it imports torch), this process's environment unchanged afterwards."""
    with environment(env):
        process.start()


def current_gpu() -> Gpu | None:
    """The GPU this process has trained on: CUDA's current device, named by its
    CUDA_VISIBLE_DEVICES entry (the physical index a worker was given) and its product name; None
    when CUDA was never initialised here (training on the CPU). Imports torch."""
    import torch

    if not torch.cuda.is_initialized():
        return None
    ordinal = torch.cuda.current_device()
    entries = visible_entries(os.environ)
    index = entries[ordinal] if entries and ordinal < len(entries) else str(ordinal)
    return Gpu(index, torch.cuda.get_device_name(ordinal))
