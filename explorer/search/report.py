"""REPORT.md of a search study: setup, trials, the front, its figures and the exported configs."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from explorer.analysis.markdown import cell, run_header, table, train_budget
from explorer.analysis.papers import references
from explorer.deploy.config import read_config
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.record import device_key
from explorer.search.summary import GridSummary
from explorer.search.trials import Front, front
from explorer.studies.search import SearchFile
from splitbase import StudyError

# (heading, trials.csv column, scale shown): the candidate, then every objective of the table
CANDIDATE_COLUMNS = (("trial", "number", 1.0), ("split", "split", 1.0), ("sparsity", "sparsity", 1.0),
                     ("ratio", "compression_ratio", 1.0), ("method", "method", 1.0))
MEASURE_COLUMNS = (("drop (points)", "accuracy_drop_points", 1.0), ("sent bits", "sent_bits", 1.0),
                   ("head MMAC", "head_macs", 1e-6), ("encoder MMAC", "encoder_macs", 1e-6))


def _objective_columns(device: str | None = None) -> list[tuple[str, str, float]]:
    return [(o.heading, o.field if device is None or o.name == "accuracy" else device_key(o.field, device),
             o.shown_scale) for o in (OBJECTIVES.get(name) for name in OBJECTIVES.names())]


def _rows(frame: pd.DataFrame, columns) -> list[list[str]]:
    return [[cell(row[c], scale) for _, c, scale in columns] for _, row in frame.iterrows()]


def _setup(file: SearchFile) -> list[str]:
    study, hw, space = file.study, file.hardware, file.study.space
    limits = {k: v for k, v in vars(study.constraints).items() if v not in (None, False)}
    settings = study.search
    halving = (f"; successive halving: the best 1/{settings.eta} of each rung retrained at {settings.eta} x its "
               f"budget, {settings.rungs} rungs (the front takes each candidate at its longest budget)"
               if settings.policy == "halving" else "")
    budget = (f"{study.search.trials} trials; base model {train_budget(file.baseline)}, each candidate "
              f"stage {train_budget(file.training)}{halving}")
    return [f"# {study.name}", "", *run_header(dataset=f"`{study.dataset.name}`", budget=budget,
                                             provenance=file.output / "provenance.json"),
            study.description.strip(), "",
            f"Model `{study.model}` on `{study.dataset.name}`; device `{hw.device_name}`, link "
            f"`{hw.link_name}`, server `{hw.server_name}`. Objectives: {', '.join(study.objectives)}; "
            f"constraints: {', '.join(f'{k} = {v}' for k, v in limits.items()) or 'none'}. Sampler "
            f"{file.sampler}, {study.search.trials} trials, seed {study.search.seed}; storage "
            f"`{file.storage}`. Space: split {space.split}, sparsity {space.sparsity}, compression ratio "
            f"{space.compression_ratio}, methods {space.method}, channels {space.channel}.", ""]


def _counts(trials: pd.DataFrame) -> list[str]:
    states = Counter(trials["state"])
    reused = int(trials["reused_from"].notna().sum())
    baseline = trials["baseline_accuracy"].dropna()
    lines = ["## Trials", "",
             f"{states.get('COMPLETE', 0)} complete ({reused} of them reusing an identical candidate's "
             f"training), {states.get('PRUNED', 0)} pruned before training, {states.get('FAIL', 0)} failed. "
             f"Base model accuracy {baseline.iloc[0]:.4f}." if len(baseline) else ""]
    reasons = Counter(str(r).split(":")[0] for r in trials["pruned_reason"].dropna())
    if reasons:
        lines += ["", "Pruned, by reason: " + "; ".join(f"{r} ({n})" for r, n in reasons.most_common()) + "."]
    return lines


def _reproducibility(trials: pd.DataFrame, deterministic: bool) -> list[str]:
    """Which part of the numbers a second run would not repeat bit for bit."""
    gpus = sorted(set(trials["gpu_name"].dropna())) if "gpu_name" in trials else []
    if not gpus:
        return ["", "Trained on the CPU: a candidate retrained with the same seed and base model gives the same "
                    "accuracy bit for bit; the analytic costs are exact in any case."]
    if deterministic:
        return ["", f"Trained on CUDA ({', '.join(gpus)}) with cuDNN's deterministic algorithms: a candidate "
                    "retrained with the same seed and base model on the same GPU model and torch version gives "
                    "the same accuracy bit for bit (README, Determinism on CUDA). The analytic costs (latency, "
                    "energy, bits) are exact."]
    return ["", f"Trained on CUDA ({', '.join(gpus)}) with `deterministic: false`: not bit-reproducible there. "
                "cuDNN's autotuned convolution kernels (chosen by timing; atomic adds in the backward pass) can "
                "give a candidate retrained with the same seed and base model another accuracy; how far is "
                "measured in the README (Determinism on CUDA). The analytic costs (latency, energy, bits) are exact."]


def _grid(grid: GridSummary) -> list[str]:
    """The grid and what the analytic pre-filter took out of it before sampling."""
    taken = "; ".join(f"{kind} ({n})" for kind, n in grid.excluded.items()) or "none"
    return ["", f"Grid: {grid.points} candidates, {grid.allowed} left after the analytic pre-filter; "
                f"taken out before sampling, by broken limit: {taken}."]


def report(file: SearchFile, trials: pd.DataFrame, best: Front, grid: GridSummary) -> str:
    """REPORT.md of the study read from `file`: its trials, their front and its grid summary."""
    columns = [*CANDIDATE_COLUMNS, ("channel", "channel", 1.0), *_objective_columns(), *MEASURE_COLUMNS]
    lines = _setup(file) + _counts(trials) + _reproducibility(trials, file.training.deterministic) + _grid(grid)
    lines += ["", "## Pareto front", "",
              f"{len(best.trials)} non-dominated feasible trials; hypervolume {best.hypervolume:.4g} "
              f"against the reference {best.reference} (objectives {', '.join(file.study.objectives)}). "
              "Every trial is in `trials.csv`, the front in `pareto.csv`.", ""]
    lines += table([h for h, _, _ in columns], _rows(best.trials, columns))
    for x, y in FRONT_FIGURES:
        lines += ["", f"![{y} vs {x}]({figure_name(x, y)})"]
    lines.append("")
    for other in file.also:
        lines += _other_device(file, trials, other.device_name)
    lines += _exports(file.output / "export")
    return "\n".join(lines + references("\n".join(lines))) + "\n"


def _other_device(file: SearchFile, trials: pd.DataFrame, device: str) -> list[str]:
    """The same trained candidates priced on another device: its own front."""
    other = front(trials, file.objectives, device=device)
    columns = [*CANDIDATE_COLUMNS, *_objective_columns(device)]
    lines = [f"## The same candidates on `{device}`", "",
             f"Every trained candidate priced again on `{device}` (same link and server): "
             f"{len(other.trials)} non-dominated, hypervolume {other.hypervolume:.4g}.", ""]
    return lines + table([h for h, _, _ in columns], _rows(other.trials, columns)) + [""]


def _exports(folder: Path) -> list[str]:
    rows = []
    for path in sorted(folder.glob("*/config.json")):
        try:
            config = read_config(path)
        except StudyError:
            continue  # not one of ours: the report lists the exports it can read
        check = config.check_result(path.parent)
        verdict = "not run" if check is None else f"{check['accuracy']:.4f} ({'agrees' if check['agrees'] else 'disagrees'})"
        rows.append([str(path.parent.relative_to(folder.parent)), str(config.trial), config.split.unit,
                     config.method, f"{config.compression_ratio:.4g}", f"{config.measured.accuracy:.4f}", verdict,
                     f"{1e3 * config.predicted.latency_s:.4g}", f"{1e3 * config.predicted.energy_j:.4g}"])
    if not rows:
        return []
    return ["## Exported configs", "", *table(["folder", "trial", "split", "method", "ratio", "accuracy", "check",
                                                "latency ms", "energy mJ"], rows), ""]
