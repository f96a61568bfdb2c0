"""Search efficiency on a tabular benchmark: hypervolume against distinct evaluations, per sampler,
and successive halving's hypervolume against training seconds.

    .venv/bin/python benchmarks/search_efficiency.py [--study studies/search_resnet18_fmnist.yaml]
        [--table results/tabular/resnet18_fmnist.csv] [--seeds 20] [--budget-fraction 0.2] [--eta 3]

Every sampler the search ships (random, grid order, NSGA-II, TPE, GP; each wrapped so that every
trial is a new allowed candidate, explorer.search.distinct) searches the study's pre-filtered
grid with the accuracy read from the table (oracle mode's reading, explorer.search.oracle), in
memory, over `--seeds` seeds. Hypervolume of the feasible evaluations (accuracy, latency s,
energy J as priced on the study's device and link, e.g. the Pi 3 over 2 Mbps) against a fixed
reference point (accuracy 0; latency and energy 10 % beyond the worst trained row of the table)
is recorded after each distinct evaluation, as is the table's training seconds spent. Prints,
per sampler, the median (over seeds) evaluations and training seconds needed to reach 95 % of
the exhaustive front's hypervolume, against the 15 % of the grid the issue asks for.

Successive halving (explorer.search.halving, its own ranking and promotion) is measured in
training seconds: for each seed, rung 0 is the first n evaluations of `--halving-sampler`'s run
(random by default, the classic choice) for every n up to the budget; the best n // eta of them
with a long-budget value in the table are promoted and count `train_seconds_long`, the front
takes each candidate at its longest budget. Its seconds to 95 % are those of the smallest n
whose front reaches 95 % of the exhaustive (candidate-budget) hypervolume, against 10 % of the
grid's training seconds (every allowed row at the candidate budget). A verdict line per goal
says meets / misses and the ratio to the goal; the last one the benchmark's own wall time
against 5 minutes. Writes curves.csv, halving.csv, summary.csv, hypervolume.png and
provenance.json under --out.
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.analysis.pareto import hypervolume  # noqa: E402
from explorer.search.distinct import DistinctSampler  # noqa: E402
from explorer.search.halving import promote, promoted_count  # noqa: E402
from explorer.search.oracle import OracleTable, load_table  # noqa: E402
from explorer.search.samplers import SAMPLERS, make_sampler, sampler_name  # noqa: E402
from explorer.search.space import SearchGrid, search_grid  # noqa: E402
from explorer.studies.search import ResolvedSearch, resolve_search  # noqa: E402

OBJECTIVES = ("accuracy", "latency", "energy")
TARGET = 0.95
GOAL_FRACTION = 0.15          # of the grid's evaluations, by the default sampler
HALVING_GOAL_FRACTION = 0.10  # of the grid's training seconds, by successive halving
WALL_GOAL_S = 300.0


class Problem:
    """The grid with each allowed point's objective values (all minimised), feasibility and
    constraint violation (accuracy-drop points beyond the limit; 1 for a row that does not fit
    the device) and training seconds, at the candidate budget and (`long_*`, NaN / False where
    the table has none) at the long budget."""

    def __init__(self, resolved: ResolvedSearch, grid: SearchGrid, table: OracleTable) -> None:
        self.resolved, self.grid, self.table = resolved, grid, table
        self.values, self.feasible, self.violation = self._measured(False)
        self.long_values, self.long_feasible, self.long_violation = self._measured(True)
        self.seconds = np.array([table.train_seconds(key) for key in grid.keys])
        self.long_seconds = np.array([table.train_seconds(key, long=True) for key in grid.keys])
        trained = np.isfinite(self.values[:, 0])
        worst = self.values[trained].max(axis=0)
        span = self.values[trained].max(axis=0) - self.values[trained].min(axis=0)
        self.reference = np.array([0.0, *(worst[1:] + 0.1 * span[1:])])
        self.exhaustive = hypervolume(self.values[self.feasible], self.reference)

    def _measured(self, long: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        limit = self.resolved.study.constraints.max_accuracy_drop
        values = np.full((len(self.grid), 3), np.nan)
        feasible, violation = np.zeros(len(self.grid), dtype=bool), np.zeros(len(self.grid))
        for row, key in enumerate(self.grid.keys):
            measured = self.table.measured(key, long=long)
            if not self.grid.allowed[row] or measured.reason:
                continue
            a = measured.attrs
            values[row] = (-a["accuracy"], a["latency_s"], a["energy_j"])
            over = max(0.0, measured.accuracy_drop_points - limit) if limit is not None else 0.0
            violation[row] = over if a["feasible"] else over + 1.0
            feasible[row] = violation[row] == 0
        return values, feasible, violation

    def halving(self, order: list[int], eta: int) -> tuple[list[float], list[float]]:
        """Successive halving over the first n rows of `order` (rung 0) for n = 1 .. len(order):
        the hypervolume fraction of its front (each candidate at its longest budget) and the
        training seconds spent (rung 0 at the candidate budget, rung 1 at the long one)."""
        curve, seconds = [], []
        for n in range(1, len(order) + 1):
            rung0 = np.array(order[:n])
            up = rung0[promote(self.values[rung0], self.violation[rung0], promoted_count(n, eta),
                               np.isfinite(self.long_values[rung0, 0]))]
            short = np.setdiff1d(rung0, up)
            points = np.concatenate([self.values[short][self.feasible[short]], self.long_values[up][self.long_feasible[up]]])
            curve.append(hypervolume(points, self.reference) / self.exhaustive if len(points) else 0.0)
            seconds.append(float(self.seconds[rung0].sum() + self.long_seconds[up].sum()))
        return curve, seconds

    def objective(self, trial: optuna.Trial):
        row = self.grid.suggest(trial)
        trial.set_user_attr("candidate_key", self.grid.keys[row])
        trial.set_user_attr("row", row)
        if not np.isfinite(self.values[row, 0]):
            raise optuna.TrialPruned()
        trial.set_constraint("feasible", 0.0 if self.feasible[row] else 1.0)
        return tuple(self.values[row] * [-1, 1, 1])


def run_one(args: tuple[str, str, str, int, int]) -> dict:
    """One sampler, one seed: hypervolume and training seconds after each distinct evaluation."""
    study_path, table_path, sampler, seed, budget = args
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    import torch  # GPSampler's; one thread per process, as many processes as cores

    torch.set_num_threads(1)
    problem = _problem(study_path, table_path)
    base = make_sampler(sampler, problem.grid.grid_choices(), trials=budget, seed=seed)
    study = optuna.create_study(directions=["maximize", "minimize", "minimize"],
                                sampler=DistinctSampler(base, problem.grid, seed=seed))
    rows: list[int] = []

    def stop(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:  # not-trained rows cost no evaluation
            rows.append(trial.user_attrs["row"])
        if len(set(rows)) >= budget:
            study.stop()

    started = time.perf_counter()
    study.optimize(problem.objective, n_trials=len(problem.grid), callbacks=[stop])
    seen = list(dict.fromkeys(rows))[:budget]
    curve, seconds = [], []
    for n in range(1, len(seen) + 1):
        chosen = [r for r in seen[:n] if problem.feasible[r]]
        curve.append(hypervolume(problem.values[chosen], problem.reference) / problem.exhaustive if chosen else 0.0)
        seconds.append(float(problem.seconds[seen[:n]].sum()))
    return {"sampler": sampler, "seed": seed, "rows": seen, "curve": curve, "seconds": seconds,
            "wall_s": time.perf_counter() - started}


_CACHE: dict = {}


def _problem(study_path: str, table_path: str) -> Problem:
    if (study_path, table_path) not in _CACHE:
        resolved = resolve_search(study_path)
        grid = search_grid(resolved)
        _CACHE[(study_path, table_path)] = Problem(resolved, grid, load_table(table_path, grid))
    return _CACHE[(study_path, table_path)]


def _reach(curve: list[float], seconds: list[float]) -> tuple[float, float]:
    hit = next((i for i, v in enumerate(curve) if v >= TARGET), None)
    return (np.nan, np.nan) if hit is None else (hit + 1, seconds[hit])


def _median(values: np.ndarray) -> float:
    """The median over seeds, a seed that never reached 95 % counting as infinitely many."""
    return float(np.median(np.where(np.isfinite(values), values, np.inf)))


def _summary_row(name: str, runs: list[tuple[list[float], list[float]]], allowed: int, grid_seconds: float) -> dict:
    reached = [_reach(curve, seconds) for curve, seconds in runs]
    evals, secs = np.array([e for e, _ in reached]), np.array([s for _, s in reached])
    return {"sampler": name, "seeds": len(reached), "reached": int(np.isfinite(evals).sum()),
            "median_evaluations_to_95": _median(evals), "median_fraction_of_grid": _median(evals) / allowed,
            "median_train_seconds_to_95": _median(secs), "fraction_of_grid_seconds": _median(secs) / grid_seconds}


def _verdict(what: str, measured: float, goal: float, unit: str) -> str:
    """One goal's line: meets / misses, the measured value and its ratio to the goal."""
    if not np.isfinite(measured):
        return f"goal {what}: misses: the median seed does not reach 95 % within the budget (raise --budget-fraction)"
    word = "meets" if measured <= goal else "misses"
    return f"goal {what}: {word}: {measured:.4g} {unit} against <= {goal:.4g} {unit} (ratio {measured / goal:.2f})"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="studies/search_resnet18_fmnist.yaml")
    parser.add_argument("--table", default="results/tabular/resnet18_fmnist.csv")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget-fraction", type=float, default=0.2,
                        help="distinct evaluations per run, as a fraction of the allowed grid (the goal is 0.15)")
    parser.add_argument("--samplers", default=",".join(SAMPLERS.names()))
    parser.add_argument("--halving-sampler", default="random", help="the sampler of halving's rung 0")
    parser.add_argument("--eta", type=int, default=3, help="halving keeps the best 1/eta of rung 0 (default 3)")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", default="results/search_efficiency")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    import pandas as pd

    from explorer.analysis.provenance import Provenance

    provenance = Provenance()
    started = time.perf_counter()
    problem = _problem(args.study, args.table)
    allowed = int(problem.grid.allowed.sum())
    grid_seconds = float(problem.seconds[problem.grid.allowed].sum())
    budget = max(1, min(allowed, round(args.budget_fraction * allowed)))
    samplers = list(dict.fromkeys([*args.samplers.split(","), args.halving_sampler]))
    jobs = [(args.study, args.table, s, seed, budget) for s in samplers for seed in range(args.seeds)]
    if args.processes <= 1:
        results = [run_one(job) for job in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
            results = pool.map(run_one, jobs)
    halving = [(r["seed"], *problem.halving(r["rows"], args.eta)) for r in results if r["sampler"] == args.halving_sampler]
    curves = pd.DataFrame([{"sampler": r["sampler"], "seed": r["seed"], "evaluations": n + 1, "hv_fraction": v,
                            "train_seconds": s} for r in results
                           for n, (v, s) in enumerate(zip(r["curve"], r["seconds"]))])
    halving_curves = pd.DataFrame([{"seed": seed, "rung0_evaluations": n + 1, "hv_fraction": v, "train_seconds": s}
                                   for seed, curve, seconds in halving for n, (v, s) in enumerate(zip(curve, seconds))])
    summary = pd.DataFrame([*(_summary_row(s, [(r["curve"], r["seconds"]) for r in results if r["sampler"] == s],
                                           allowed, grid_seconds) for s in samplers),
                            _summary_row(f"halving({args.halving_sampler}, eta {args.eta})",
                                         [(c, sec) for _, c, sec in halving], allowed, grid_seconds)])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curves.to_csv(out / "curves.csv", index=False)
    halving_curves.to_csv(out / "halving.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    _figure(curves, out / "hypervolume.png", allowed)
    wall = time.perf_counter() - started
    provenance.extra.update(study=args.study, table=args.table, seeds=args.seeds, budget=budget, grid=len(problem.grid),
                            allowed=allowed, exhaustive_hypervolume=problem.exhaustive, grid_train_seconds=grid_seconds,
                            reference=problem.reference.tolist(), eta=args.eta, halving_sampler=args.halving_sampler,
                            wall_s=wall)
    provenance.write(out)
    print(f"grid {len(problem.grid)} candidates, {allowed} allowed ({grid_seconds:.4g} training seconds at the "
          f"candidate budget); budget {budget} evaluations; exhaustive hypervolume {problem.exhaustive:.4g}; "
          f"{args.seeds} seeds, {wall:.1f} s")
    print(summary.to_string(index=False))
    _goals(summary, resolve_search(args.study), allowed, wall)
    return 0


def _goals(summary, resolved: ResolvedSearch, allowed: int, wall: float) -> None:
    """The verdict line of each goal of issue 11."""
    by = summary.set_index("sampler")
    default = sampler_name("auto", len(resolved.study.objectives))
    single = by.drop(index=[name for name in by.index if name.startswith("halving")])
    best = single["median_evaluations_to_95"].idxmin()
    print(_verdict(f"default sampler ({default}) to 95 % in <= 15 % of the grid's evaluations",
                   by.loc[default, "median_evaluations_to_95"], GOAL_FRACTION * allowed, "evaluations"))
    if not np.isfinite(single.loc[best, "median_evaluations_to_95"]):
        print("best single-budget sampler: none; no sampler's median seed reaches 95 % within the budget")
    else:
        print(f"best single-budget sampler: {best} ({by.loc[best, 'median_evaluations_to_95']:g} evaluations, median)"
              + ("" if best == default else f"; the default is {default}: explorer/search/samplers.py AUTO_CHOICE"))
    name = next(name for name in by.index if name.startswith("halving"))
    print(_verdict(f"{name} to 95 % in <= 10 % of the grid's training seconds",
                   by.loc[name, "fraction_of_grid_seconds"], HALVING_GOAL_FRACTION, "of the grid's seconds"))
    print(_verdict("benchmark wall time", wall, WALL_GOAL_S, "s"))


def _figure(curves, path: Path, allowed: int) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for sampler, frame in curves.groupby("sampler"):
        median = frame.groupby("evaluations")["hv_fraction"].median()
        ax.plot(median.index, median.values, label=sampler)
    ax.axhline(TARGET, color="grey", linestyle=":")
    ax.axvline(GOAL_FRACTION * allowed, color="grey", linestyle="--")
    ax.set_xlabel("distinct evaluations")
    ax.set_ylabel("hypervolume / exhaustive (median over seeds)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
