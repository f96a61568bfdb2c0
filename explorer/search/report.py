"""REPORT.md of a search study: setup, trials, the front, its figures and the exported configs."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from explorer.studies.search import ResolvedSearch
from explorer.search.trials import Front, front

FRONT_COLUMNS = (("trial", "number"), ("split", "split"), ("sparsity", "sparsity"),
                 ("ratio", "compression_ratio"), ("method", "method"), ("channel", "channel"),
                 ("accuracy", "accuracy"), ("drop (points)", "accuracy_drop_points"),
                 ("latency ms", "latency_s"), ("energy mJ", "energy_j"),
                 ("frames/s", "throughput_fps"), ("sent bits", "sent_bits"),
                 ("head MMAC", "head_macs"))
SCALE = {"latency_s": 1e3, "energy_j": 1e3, "head_macs": 1e-6}


def _cell(value, column: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value * SCALE.get(column, 1):.4g}"
    return str(value)


def _table(headers, rows) -> list[str]:
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in rows)]


def report(resolved: ResolvedSearch, trials: pd.DataFrame, front: Front) -> str:
    study = resolved.study
    hw = resolved.hardware
    limits = {k: v for k, v in vars(study.constraints).items() if v not in (None, False)}
    lines = [f"# {study.name}", "", study.description.strip(), "",
             f"Model `{study.model}` on `{study.dataset.name}`; device `{hw.device_name}`, link "
             f"`{hw.link_name}`, server `{hw.server_name}`. Objectives: "
             f"{', '.join(study.objectives)}; constraints: "
             f"{', '.join(f'{k} = {v}' for k, v in limits.items()) or 'none'}. Sampler "
             f"{resolved.sampler}, {study.search.trials} trials, seed {study.search.seed}; "
             f"storage `{resolved.storage}`. Space: split {study.space.split}, sparsity "
             f"{study.space.sparsity}, compression ratio {study.space.compression_ratio}, methods "
             f"{study.space.method}, channels {study.space.channel}.", "",
             "## Trials", ""]
    states = Counter(trials["state"])
    reused = int(trials["reused_from"].notna().sum())
    baseline = trials["baseline_accuracy"].dropna()
    lines.append(f"{states.get('COMPLETE', 0)} complete ({reused} of them reusing an identical "
                 f"candidate's training), {states.get('PRUNED', 0)} pruned before training, "
                 f"{states.get('FAIL', 0)} failed. Base model accuracy "
                 f"{baseline.iloc[0]:.4f}." if len(baseline) else "")
    reasons = Counter(str(r).split(":")[0] for r in trials["pruned_reason"].dropna())
    if reasons:
        lines += ["", "Pruned, by reason: " + "; ".join(f"{r} ({n})" for r, n in reasons.most_common()) + "."]
    lines += ["", "## Pareto front", "",
              f"{len(front.trials)} non-dominated feasible trials; hypervolume {front.hypervolume:.4g} "
              f"against the reference {front.reference} (objectives {', '.join(study.objectives)}). "
              "Every trial is in `trials.csv`, the front in `pareto.csv`.", ""]
    rows = [[_cell(row[c], c) for _, c in FRONT_COLUMNS] for _, row in front.trials.iterrows()]
    lines += _table([h for h, _ in FRONT_COLUMNS], rows)
    lines += ["", "![accuracy vs latency](front_accuracy_latency.png)", "",
              "![accuracy vs energy](front_accuracy_energy.png)", "",
              "![energy vs latency](front_energy_latency.png)", ""]
    for other in resolved.also:
        lines += _other_device(resolved, trials, other.device_name)
    lines += _exports(resolved.output / "export")
    return "\n".join(lines) + "\n"


def _other_device(resolved: ResolvedSearch, trials: pd.DataFrame, device: str) -> list[str]:
    """The same trained candidates priced on another device: its own front."""
    other = front(trials, resolved.study.objectives, device=device)
    columns = [("trial", "number"), ("split", "split"), ("sparsity", "sparsity"),
               ("ratio", "compression_ratio"), ("method", "method"), ("accuracy", "accuracy"),
               ("latency ms", f"latency_s@{device}"), ("energy mJ", f"energy_j@{device}"),
               ("frames/s", f"throughput_fps@{device}")]
    lines = [f"## The same candidates on `{device}`", "",
             f"Every trained candidate priced again on `{device}` (same link and server): "
             f"{len(other.trials)} non-dominated, hypervolume {other.hypervolume:.4g}.", ""]
    rows = [[_cell(row[c], c.split("@")[0]) for _, c in columns] for _, row in other.trials.iterrows()]
    return lines + _table([h for h, _ in columns], rows) + [""]


def _exports(folder: Path) -> list[str]:
    configs = sorted(folder.glob("*/config.json"))
    if not configs:
        return []
    lines = ["## Exported configs", ""]
    rows = []
    for path in configs:
        config = json.loads(path.read_text())
        check = path.parent / "check.json"
        verdict = "not run"
        if check.is_file():
            found = json.loads(check.read_text())
            verdict = f"{found['accuracy']:.4f} ({'agrees' if found['agrees'] else 'disagrees'})"
        rows.append([str(path.parent.relative_to(folder.parent)), str(config["trial"]),
                     config["split"]["unit"], config["method"], f"{config['compression_ratio']:.4g}",
                     f"{config['measured']['accuracy']:.4f}", verdict,
                     f"{1e3 * config['predicted']['latency_s']:.4g}",
                     f"{1e3 * config['predicted']['energy_j']:.4g}"])
    lines += _table(["folder", "trial", "split", "method", "ratio", "accuracy", "check",
                     "latency ms", "energy mJ"], rows)
    return lines + [""]
