"""The measured table: `profile`'s rows plus measured seconds, written as CSV + JSON, and read back
with every check a calibration relies on.

A measurement of model M at batch B is two files with one stem (`<M>_<device>_b<B>`): the CSV
has one row per split point k = -1..last with the profile's ROW_FIELDS (per frame) and
`unit_s`, `head_s`, `tail_s` (seconds per call of B frames: medians, or the settings' quantile)
with their interquartile ranges `unit_iqr_s`, `head_iqr_s`, `tail_iqr_s`; the JSON records the
model, input shape, batch, runtime, device, threads, repeats, quantile, rounds and where it ran
(explorer.measure.standalone.provenance, the load average before and after among it). A board
that has only onnxruntime times the parts `export_parts` wrote and `read_timings` reads them back.

One call measures several (model, batch) tables in one process, round-robin
(explorer.measure.standalone.time_parts): settings.rounds rounds over every part of every table,
and the provenance's `order` names the tables timed together. The JSON's `consistency` gives the
table's agreement with itself (standalone.consistency: the shares of split points whose head +
tail is within +-10 % of the whole model, and whose head is within +-10 % of its units' sum).
"""
from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal, Sequence

from explorer.measure import standalone
from explorer.profile.table import ROW_FIELDS, SplitProfile, profile_zoo_model
from splitbase import DataError
from splitbase.files import write_atomic

TIME_FIELDS = ("unit_s", "unit_iqr_s", "head_s", "head_iqr_s", "tail_s", "tail_iqr_s")
Runtime = Literal["torch", "onnxruntime"]


@dataclass(frozen=True)
class MeasureSettings:
    """How a table was measured: model, batch (frames per call), where and how often."""

    model: str
    batch: int
    device: str = "cpu"
    runtime: Runtime = "torch"
    threads: int | None = None
    repeats: int = 30
    warmup: int = 10
    quantile: float = 0.5
    rounds: int = 1

    @property
    def stem(self) -> str:
        return f"{self.model}_{self.device.replace(':', '')}_b{self.batch}"


@dataclass(frozen=True)
class MeasuredTable:
    """A measured table as read back: its settings, the profile rows and the times (lists over
    k = -1..last, seconds per call of `settings.batch` frames)."""

    settings: MeasureSettings
    input_shape: tuple[int, ...]
    rows: list[dict]
    times: dict[str, list[float]]
    provenance: dict
    path: Path


@dataclass(frozen=True)
class Measured:
    """One measured (model, batch), ready for `write_table`: its settings, profile, times (lists
    over k = -1..last, seconds per call of `settings.batch` frames) and provenance (the machine
    and the round-robin `order`)."""

    settings: MeasureSettings
    profile: SplitProfile
    times: dict[str, list[float]]
    provenance: dict


def measure(settings: Sequence[MeasureSettings]) -> list[Measured]:
    """Time every unit, head and tail of every zoo model and batch named by `settings`, all in
    this process, round-robin (module doc); the settings differ in model and batch only."""
    import torch

    from netmodels.zoo import build_model

    first = settings[0]
    if len({replace(s, model="", batch=1) for s in settings}) > 1:
        raise DataError("measure: the tables of one call share device, runtime, threads, repeats, warm-up, "
                        "quantile and rounds")
    if first.rounds < 1:
        raise DataError(f"rounds: at least 1, not {first.rounds}")
    if first.runtime == "onnxruntime" and first.device != "cpu":
        raise DataError(f"--runtime onnxruntime: times on the CPU only, not {first.device!r}")
    chains = []
    for s in settings:
        model = build_model(s.model)
        chains.append((list(model.units), torch.randn((s.batch, *model.input_shape),
                                                      generator=torch.Generator().manual_seed(0))))
    options = dict(threads=first.threads, rounds=first.rounds, repeats=first.repeats, warmup=first.warmup,
                   quantile=first.quantile)
    load_before = standalone.load_average()
    if first.runtime == "torch":
        tables = standalone.measure_torch(chains, device=first.device, **options)
    else:
        with tempfile.TemporaryDirectory() as folder:
            manifests = [standalone.export_onnx(units, example, Path(folder) / str(c))
                         for c, (units, example) in enumerate(chains)]
            tables = standalone.measure_onnx([m.parent for m in manifests], **options)
    machine = standalone.provenance(device=first.device, runtime=first.runtime, threads=first.threads,
                                    load_before=load_before)
    machine["order"] = standalone.order_record(first.rounds, [s.stem for s in settings],
                                               [len(units) for units, _ in chains])
    return [Measured(s, profile_zoo_model(s.model), times, machine) for s, times in zip(settings, tables)]


def export_parts(model: str, batch: int, folder: Path) -> Path:
    """Every part of zoo model `model` at `batch` as ONNX in `folder` (standalone.export_onnx),
    with a copy of standalone.py to time them on a board; returns the manifest's path."""
    import shutil

    import torch

    from netmodels.zoo import build_model

    built = build_model(model)
    example = torch.randn((batch, *built.input_shape), generator=torch.Generator().manual_seed(0))
    manifest = standalone.export_onnx(list(built.units), example, folder, model=model)
    shutil.copyfile(standalone.__file__, folder / "standalone.py")
    return manifest


def read_timings(path: Path, model: str) -> Measured:
    """A board's timings.json (standalone.py's output), checked against zoo model `model`
    (DataError naming the file)."""
    try:
        record = json.loads(Path(path).read_text())
        settings = MeasureSettings(**record["settings"])
        times, machine = record["timings"], record["provenance"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"timings {path}: not a timings.json written by standalone.py ({exc})") from None
    if settings.model != model:
        raise DataError(f"timings {path}: timed model {settings.model!r}, not {model!r}")
    profile = profile_zoo_model(model)
    bad = [name for name in TIME_FIELDS if len(times.get(name, ())) != len(profile.names)]
    if bad:
        raise DataError(f"timings {path}: {bad[0]} does not have one time per split point of {model!r} "
                        f"({len(profile.names)})")
    return Measured(settings, profile, times, machine)


def write_table(folder: Path, settings: MeasureSettings, profile: SplitProfile, times: dict[str, list[float]],
                machine: dict) -> Path:
    """Write <stem>.csv and <stem>.json (with the times' `consistency`) into `folder`
    (atomically); returns the CSV's path."""
    rows = profile.rows()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[*ROW_FIELDS, *TIME_FIELDS], lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(rows):
        writer.writerow({**row, "feature_shape": "x".join(map(str, row["feature_shape"])),
                         **{name: repr(float(times[name][i])) for name in TIME_FIELDS}})
    record = {**asdict(settings), "input_shape": list(profile.input_shape),
              "consistency": {**standalone.consistency(times), "within": standalone.CONSISTENT_WITHIN},
              "provenance": machine}
    csv_path = folder / f"{settings.stem}.csv"
    write_atomic(folder / f"{settings.stem}.json", lambda f: f.write((json.dumps(record, indent=2) + "\n").encode()))
    write_atomic(csv_path, lambda f: f.write(text.getvalue().encode()))
    return csv_path


def read_table(path: str | Path) -> MeasuredTable:
    """A measured table (the CSV; its JSON beside it), checked: every time present, finite and
    not negative, every row of the model's profile present in order. DataError naming the file
    and the first problem otherwise."""
    path = Path(path)
    meta_path = path.with_suffix(".json")
    try:
        record = json.loads(meta_path.read_text())
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"measured table {path}: cannot read it or {meta_path.name} ({exc})") from None
    try:
        settings = MeasureSettings(**{k: record[k] for k in MeasureSettings.__dataclass_fields__ if k in record})
    except (KeyError, TypeError) as exc:
        raise DataError(f"measured table {path}: {meta_path.name} lacks the measurement settings ({exc})") from None
    missing = [name for name in (*ROW_FIELDS, *TIME_FIELDS) if rows and name not in rows[0]]
    if not rows or missing:
        raise DataError(f"measured table {path}: " + (f"missing column(s) {missing}" if rows else "no rows"))
    times = {name: [_time(path, row, name, i - 1) for i, row in enumerate(rows)] for name in TIME_FIELDS}
    return MeasuredTable(settings, tuple(record.get("input_shape", ())), rows, times, record.get("provenance", {}),
                         path)


def _time(path: Path, row: dict, name: str, k: int) -> float:
    text = row[name]
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise DataError(f"measured table {path}: split {k} ({row.get('name')}): {name} is missing "
                        f"or not a number ({text!r})") from None
    if not math.isfinite(value) or value < 0:
        raise DataError(f"measured table {path}: split {k} ({row.get('name')}): {name} = {text} is "
                        "not a finite time >= 0")
    return value


def check_model(table: MeasuredTable, profile: SplitProfile) -> None:
    """The table was measured on `profile`'s model: same model name, unit names and head MACs."""
    path = table.path
    if table.settings.model != profile.model:
        raise DataError(f"measured table {path}: measured on model {table.settings.model!r}, not {profile.model!r}")
    names = [row["name"] for row in table.rows]
    macs = [int(float(row["head_macs"])) for row in table.rows]
    if names != list(profile.names) or macs != [int(m) for m in profile.head_macs]:
        raise DataError(f"measured table {path}: its rows are not the profile of {profile.model!r} "
                        "(unit names or head MACs differ)")
