"""The progress line of each candidate stage names the method, the split unit, the stage and its place."""
from netmodels.recipes import stage_desc
from tests.netmodels.training_checks import seeded_candidate


def lines(candidate):
    stages = candidate.stages
    return [stage_desc(candidate, s, i, len(stages)) for i, s in enumerate(stages, start=1)]


def test_stage_lines_name_method_split_stage_and_place():
    pruned = seeded_candidate(None, (1, 32, 32), method="threestep", compression_ratio=64, sparsity=0.5)
    assert lines(pruned) == ["threestep pool2: prune 1/3", "threestep pool2: codec 2/3",
                             "threestep pool2: finetune 3/3"]
    coded = seeded_candidate(None, (1, 32, 32), method="bottlenetpp", compression_ratio=64)
    assert lines(coded) == ["bottlenetpp pool2: codec 1/2", "bottlenetpp pool2: finetune 2/2"]
    one = seeded_candidate(None, (1, 32, 32), method="bottlefit", compression_ratio=32,
                           options={"training": "kd"})
    assert lines(one) == ["bottlefit pool2: kd"]
