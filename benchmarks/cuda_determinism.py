"""Whether a training repeats bit for bit, and what repeatability costs (TrainConfig.deterministic).

    python benchmarks/cuda_determinism.py STUDY.yaml [--epochs E] [--repeats N] [--output results/determinism/NAME]

Trains the base model of a retraining study (its model, data set and `baseline:` recipe; the
budget cut to --epochs) `--repeats` times with cuDNN autotuned (deterministic off) and as many
times with deterministic algorithms, alternating the two so that both see the same machine state,
and prints, per training, the weights digest (netmodels.baseline.weights_digest), the test accuracy
and the loop's wall time; then, per setting, how many distinct digests its trainings reached, and
the ratio of the median wall times (deterministic / autotuned), over all trainings and over the
later ones (a process's first autotuned training pays for the autotuning). With --output: runs.csv and
provenance.json. On the CPU both settings are the same code path (the flag only changes cuDNN).
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer.analysis.provenance import Provenance  # noqa: E402
from explorer.studies.train import resolve_train_study  # noqa: E402
from splitbase import SplitExplorerError  # noqa: E402
from splitbase.files import write_csv  # noqa: E402


def one_training(model_name: str, data, config) -> dict[str, object]:
    """Train `model_name` afresh under `config`: digest, accuracy and loop seconds."""
    from netmodels.baseline import weights_digest
    from netmodels.training.loop import seed_everything, train
    from netmodels.zoo import build_model

    seed_everything(config.seed)
    model = build_model(model_name, input_shape=data.input_shape, num_classes=data.num_classes)
    result = train(model, data, config, progress=False)
    return {"digest": weights_digest(model.state_dict()), "accuracy": result.test_accuracy,
            "wall_time_s": round(result.wall_time_s, 3), "device": result.device}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("study", help="a retraining study (kind: train) whose base model is trained")
    parser.add_argument("--epochs", type=float, default=3.0, help="budget of each training (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="trainings per setting (default 2)")
    parser.add_argument("--data-root")
    parser.add_argument("--output", type=Path, help="folder for runs.csv and provenance.json")
    args = parser.parse_args(argv)
    provenance = Provenance()
    try:
        resolved = resolve_train_study(args.study)
        data = resolved.study.dataset.load(args.data_root)
    except SplitExplorerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model_name = resolved.study.models[0]
    base = dataclasses.replace(resolved.baseline, epochs=args.epochs, steps=None)
    rows = []
    for repeat in range(args.repeats):
        for deterministic in (False, True):
            run = one_training(model_name, data, dataclasses.replace(base, deterministic=deterministic))
            rows.append({"repeat": repeat, "deterministic": deterministic, **run})
            print(", ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    summary = {}
    for deterministic in (False, True):
        mine = [r for r in rows if r["deterministic"] == deterministic]
        summary[f"deterministic={deterministic}"] = {
            "distinct_digests": len({r["digest"] for r in mine}), "trainings": len(mine),
            "median_wall_time_s": statistics.median(r["wall_time_s"] for r in mine),
            "median_later_wall_time_s": statistics.median(r["wall_time_s"] for r in mine[1:] or mine)}
    ratios = {f"wall_time_ratio{suffix}": (summary["deterministic=True"][f"median{suffix}_wall_time_s"]
                                           / summary["deterministic=False"][f"median{suffix}_wall_time_s"])
              for suffix in ("", "_later")}
    for name, values in summary.items():
        print(f"{name}: {values['distinct_digests']} distinct weights in {values['trainings']} trainings, "
              f"median {values['median_wall_time_s']:.1f} s, after the first {values['median_later_wall_time_s']:.1f} s")
    print(f"wall time ratio deterministic / autotuned: {ratios['wall_time_ratio']:.3f}, "
          f"after each setting's first training {ratios['wall_time_ratio_later']:.3f}")
    if args.output:
        write_csv(args.output / "runs.csv", list(rows[0]), rows)
        provenance.extra.update(summary=summary, **ratios, study=args.study, model=model_name,
                                epochs=args.epochs, training=dataclasses.asdict(base))
        provenance.write(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
