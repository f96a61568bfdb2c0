"""The ONNX parts of an export: each half through torch's maintained exporter (torch.export-based,
`dynamo=True`, which needs onnxscript), named tensors, a dynamic batch dimension, opset OPSET."""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from splitbase import ModelError

OPSET = 18                       # run by onnxruntime >= 1.14
EXTERNAL_DATA_BYTES = 2 << 30    # protobuf's limit: above it the weights go to a side file
# the exporter warns once per torchvision operator when torchvision is absent (our zoo needs none)
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


def _weight_bytes(module: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


def export_onnx(module: nn.Module, inputs: tuple[Tensor, ...], path: Path, *, input_names: list[str],
                output_names: list[str], batch: torch.export.Dim) -> Path:
    """Write `module` called on `inputs` as an ONNX model at `path`; dimension 0 of every input
    is `batch`. Weights are inside the file unless they exceed EXTERNAL_DATA_BYTES."""
    dynamic = {name: {0: batch} for name in input_names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notes about torch internals
        try:
            torch.onnx.export(module, inputs, str(path), input_names=input_names, output_names=output_names,
                              dynamic_shapes=dynamic, opset_version=OPSET, dynamo=True, verbose=False,
                              external_data=_weight_bytes(module) > EXTERNAL_DATA_BYTES)
        except ImportError as exc:
            raise ModelError(f"ONNX export needs onnxscript ({exc})") from None
    return path
