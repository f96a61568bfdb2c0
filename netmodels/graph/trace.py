"""Tracing a user's (or the zoo's) network into a torch.fx graph with the shape of every value.

We trace with `torch.fx` symbolic tracing, not `torch.export`: fx keeps module-level nodes with
their qualified names and each node's module stack (`nn_module_stack`), so cut points can be
named after the modules a user wrote and block boundaries found; leaf modules are configurable;
and the graph runs as a plain `GraphModule` on torch 2.11 and 2.13 with the model's own
parameters shared, so head and tail train like the model itself. `torch.export` gives aten-level
graphs without module names and with functionalised parameters, which neither training nor the
zoo's unit names fit.

Shapes come from one run on a frame of zeros: every node's `meta["val"]` is a meta-device
tensor of the value's shape and dtype, or a non-tensor value for sizes and the like.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import Sequence

import torch
from torch import fx, nn

from netmodels.modules import eval_mode, module_device
from splitbase import ModelError

_TORCH_DIR = str(Path(torch.__file__).parent)
HINT = ("mark that module as a leaf (leaf_modules / --leaf NAME, a qualified name or a class name) "
        "or wrap the function with torch.fx.wrap")


class _Tracer(fx.Tracer):
    """fx's tracer with extra leaf modules (by qualified name or class name) and the module it
    is inside when tracing fails."""

    def __init__(self, leaf_modules: Sequence[str]) -> None:
        super().__init__()
        self.leaf_modules = frozenset(leaf_modules)
        self.failed_in: str | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return (module_qualified_name in self.leaf_modules or type(m).__name__ in self.leaf_modules
                or super().is_leaf_module(m, module_qualified_name))

    def call_module(self, m, forward, args, kwargs):
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = self.path_of_module(m)
            raise


def _failing_line(exc: BaseException) -> str:
    """`file:line: code` of the innermost frame outside torch where tracing failed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_TORCH_DIR)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" at {Path(frame.filename).name}:{frame.lineno} `{(frame.line or '').strip()}`"


def symbolic_graph(module: nn.Module, *, leaf_modules: Sequence[str] = (), what: str = "model") -> fx.GraphModule:
    """`module` as an fx GraphModule sharing its submodules; unused values removed.

    ModelError (one line) for a forward that cannot be traced: the operation, the module it runs
    in ('the model' at the top level) and a hint.
    """
    if not isinstance(module, nn.Module):
        raise ModelError(f"{what} is a {type(module).__name__}, not a torch.nn.Module")
    tracer = _Tracer(leaf_modules)
    try:
        graph = tracer.trace(module)
    except Exception as exc:  # fx raises TraceError, TypeError, RuntimeError... from user code
        where = f"module {tracer.failed_in!r}" if tracer.failed_in else "the model's own forward"
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{what} cannot be traced with torch.fx: {message}{_failing_line(exc)} "
                         f"in {where}; {HINT}") from None
    gm = fx.GraphModule(tracer.root, graph, type(module).__name__)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def propagate_shapes(gm: fx.GraphModule, input_shape: tuple[int, ...], *, what: str = "model") -> None:
    """Set every node's meta["val"] for one frame (batch 1) of zeros of `input_shape`, float32,
    in eval mode: a meta-device tensor of the value's shape and dtype, or the value itself when
    it is not a tensor. One run of a copy of the graph that returns every value (no interpreter
    between the operators); ModelError when the input does not fit."""
    nodes = [n for n in gm.graph.nodes if n.op != "output"]
    placeholders = [n for n in nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ModelError(f"{what} takes {len(placeholders)} inputs; a split model takes one image tensor")
    graph, copies = fx.Graph(), {}
    graph.graph_copy(gm.graph, copies)
    graph.output(tuple(copies[n] for n in nodes))
    every_value = fx.GraphModule(gm, graph)
    try:
        with eval_mode(gm), torch.no_grad():
            values = every_value(torch.zeros(1, *input_shape, device=module_device(gm)))
    except Exception as exc:  # a shape mismatch raises from deep inside an operator
        raise ModelError(f"input {'x'.join(map(str, input_shape))} does not fit {what}: "
                         f"{str(exc).strip().splitlines()[0]}") from None
    for node, value in zip(nodes, values):
        node.meta["val"] = torch.empty_like(value, device="meta") if isinstance(value, torch.Tensor) else value


def traced(module: nn.Module, input_shape: tuple[int, ...], *, leaf_modules: Sequence[str] = (),
           what: str = "model") -> fx.GraphModule:
    """symbolic_graph then propagate_shapes: the graph every cut is found on."""
    gm = symbolic_graph(module, leaf_modules=leaf_modules, what=what)
    propagate_shapes(gm, input_shape, what=what)
    return gm
