"""`split-explorer profile MODEL`: the per-split-point table, of a zoo model or of a user's own
network named `path/to/file.py:factory` (traced with torch.fx, cut wherever the graph allows)."""
from __future__ import annotations

import argparse
import json

from explorer.cli.arguments import bit_width, input_shape, positive_int
from explorer.profile.format import FORMATS
from splitbase import StudyError

CUTS = ("all", "single", "blocks")  # netmodels.graph.KEEP, named here so that --help imports no torch


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "profile", help="per-split-point MACs, parameters, memory traffic and feature size",
        description="Profile every split point k of a model from one trace: k = -1 sends the "
                    "input, k = last sends the result. Head columns are cumulative over units "
                    "0..k; MACs count convolutions and matrix products (FLOPs = 2 MACs). A user "
                    "model (FILE.py:FACTORY, which imports and runs that file) is cut wherever the "
                    "graph allows and also lists the tensors sent and the head's peak memory.",
    )
    parser.add_argument("model", metavar="MODEL",
                        help="zoo model, e.g. resnet18-cifar or small-cnn (an unknown name lists them all), "
                             "or path/to/file.py:factory, a function or class returning an nn.Module")
    parser.add_argument("--input", type=input_shape, metavar="CxHxW",
                        help="input shape (default: the model's own, e.g. 3x224x224; required for a user model)")
    parser.add_argument("--classes", type=positive_int, metavar="N",
                        help="number of classes (default: the model's own)")
    parser.add_argument("--kwargs", type=_json_object, default={}, metavar="JSON",
                        help="a user model's factory keyword arguments, a JSON object")
    parser.add_argument("--cuts", choices=CUTS, default="all",
                        help="a user model's cuts: all valid ones (default), only those one tensor crosses, "
                             "or only block boundaries")
    parser.add_argument("--leaf", action="append", default=[], metavar="NAME",
                        help="a user model's module not to trace into (qualified or class name; repeatable)")
    parser.add_argument("--weight-bits", type=bit_width, default=32, metavar="N",
                        help="bits per weight, 1..32 (default 32)")
    parser.add_argument("--act-bits", type=bit_width, metavar="N",
                        help="bits per stored activation, 1..32, applied to the input image too "
                             "(default: float32 features and the 8-bit input image)")
    parser.add_argument("--input-bits", type=bit_width, metavar="N",
                        help="bits per input-image element, 1..32 (default: --act-bits if given, "
                             "else 8)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="output format (default table); json is a list of row objects")
    parser.set_defaults(run=run)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object of keyword arguments, got {text!r}")
    return value


def _user_reference(args: argparse.Namespace):
    """The user model a FILE.py:FACTORY argument names, or None for a zoo model's name."""
    path, sep, factory = args.model.rpartition(":")
    if not sep or not path.endswith(".py"):
        if args.kwargs or args.leaf or args.cuts != "all":
            raise StudyError("--kwargs, --cuts and --leaf apply to a user model (FILE.py:FACTORY)")
        return None
    if args.input is None:
        raise StudyError(f"--input: a user model ({args.model}) needs its input shape, e.g. --input 3x224x224")
    from netmodels.graph.user import ModelRef

    return ModelRef(path, factory, args.input, args.classes, args.kwargs, args.cuts, tuple(args.leaf))


def run(args: argparse.Namespace) -> int:
    from explorer.profile.bits import BitWidths
    from explorer.profile.format import format_profile
    from explorer.profile.table import profile_model, profile_zoo_model

    bits = BitWidths(weight=args.weight_bits, activation=args.act_bits, input=args.input_bits)
    ref = _user_reference(args)
    if ref is None:
        profile = profile_zoo_model(args.model, input_shape=args.input, num_classes=args.classes, bits=bits)
    else:
        from netmodels.graph.user import build_user_model

        profile = profile_model(build_user_model(ref), name=ref.label, bits=bits)
    print(format_profile(profile, args.format))
    return 0
