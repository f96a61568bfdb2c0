"""Markdown for the reports: one table writer, one number format, and the first lines every
report opens with (data set, budget, machine, wall time)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:
    import pandas as pd


def fmt(value: Any) -> str:
    """Three significant digits for reports (strings as they are)."""
    if isinstance(value, str):
        return value
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3g}"


def cell(value: Any, scale: float = 1.0) -> str:
    """A table cell: empty for a missing value; a float (or a scaled number) to 4 significant
    digits, times `scale`; an integer as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) and scale == 1.0:
        return str(value)
    return f"{value * scale:.4g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in rows)]


def frame_table(frame: pd.DataFrame) -> list[str]:
    """A data frame as a Markdown table, every cell through `cell`."""
    return table(list(frame.columns), [[cell(v) for v in row] for row in frame.itertuples(index=False)])


def duration(seconds: float) -> str:
    """A wall time for people: "42 s", "5 min 13 s", "2 h 05 min"."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def machine_text(machine: Mapping[str, Any]) -> str:
    """A provenance record's machine in one phrase: CPUs, torch threads, GPUs, host and platform."""
    parts = [f"{machine.get('cpu_count', '?')} CPU cores"]
    if machine.get("torch_threads"):
        parts.append(f"torch on {machine['torch_threads']} threads")
    if machine.get("gpu"):
        parts.append(f"{machine.get('gpu_count', 1)} x {machine['gpu']}")
    return f"{', '.join(parts)} (host `{machine.get('host', '?')}`, {machine.get('platform', '?')})"


def train_budget(config: Any) -> str:
    """A netmodels TrainConfig's budget in words: steps or epochs, batch size and device."""
    count, unit = (config.steps, "step") if config.steps is not None else (config.epochs, "epoch")
    length = f"{count:g} {unit}{'' if count == 1 else 's'}"
    return f"{length} of batch {config.batch_size} on `{config.device}`"


def run_header(*, dataset: str, budget: str, provenance: Path) -> list[str]:
    """A report's first lines after its title: the data set, the budget, and from the run's
    provenance.json (when it is there) the machine, the wall time and the command."""
    lines = [f"- Data set: {dataset}", f"- Budget: {budget}"]
    record = json.loads(provenance.read_text()) if provenance.is_file() else None
    if record is None:
        return lines + [f"- Machine and wall time: not recorded (no {provenance.name} beside this report)", ""]
    commit = str(record.get("commit", "unknown"))
    short = commit[:12] + ("+dirty" if commit.endswith("+dirty") else "")
    lines += [f"- Machine: {machine_text(record.get('machine', {}))}",
              f"- Wall time: {duration(record['wall_time_s'])} (`{record['command']}`, {record['date']}, "
              f"commit {short})"]
    return lines + [""]
