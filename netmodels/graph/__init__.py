"""Split points of any network from its graph (torch.fx): tracing (trace.py), the cuts and the
head's peak memory (cuts.py), the traced network as a UnitModel (model.py), its per-unit costs
from the one MAC counter (profile.py), and models named by a file and a factory (user.py)."""
from __future__ import annotations

from netmodels.graph.cuts import KEEP, CutPoint, Keep, SentTensor, find_cuts
from netmodels.graph.model import GraphUnitModel, graph_unit_model
from netmodels.graph.trace import traced

__all__ = ["KEEP", "CutPoint", "GraphUnitModel", "Keep", "SentTensor", "find_cuts", "graph_unit_model", "traced"]
