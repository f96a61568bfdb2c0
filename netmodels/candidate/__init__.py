"""Candidates: a point of the design space built as one trainable module and its cost record.

- spec.py: `CandidateSpec` (and the `PruningOptions` every method takes);
- module.py: `SplitModel`, head -> encoder -> channel -> codec proxy -> decoder -> tail;
- pruning.py: the pruning stages of a sparsity and the pruned model a candidate is built on;
- profile.py: `CandidateProfile`, from one trace of the built module;
- build.py: `build_candidate` -> `Candidate`;
- payload.py: `measure_payload`, the real codec's size;
- store.py: `save_candidate` / `load_candidate`, a trained candidate on disk.
"""
from __future__ import annotations

from netmodels.candidate.build import Candidate, build_candidate
from netmodels.candidate.module import SplitModel
from netmodels.candidate.payload import measure_payload
from netmodels.candidate.profile import CandidateProfile, UnitCost
from netmodels.candidate.pruning import PruningStage, PruningState
from netmodels.candidate.spec import CandidateSpec, PruningOptions
from netmodels.candidate.store import load_candidate, save_candidate
from netmodels.channels import ChannelSpec

__all__ = ["Candidate", "CandidateProfile", "CandidateSpec", "ChannelSpec", "PruningOptions", "PruningStage",
           "PruningState", "SplitModel", "UnitCost", "build_candidate", "load_candidate", "measure_payload",
           "save_candidate"]
