"""`split-explorer profile MODEL`: the per-split-point table."""
from __future__ import annotations

import argparse

from explorer.cli.arguments import bit_width, input_shape, positive_int
from explorer.profile.bits import BitWidths
from explorer.profile.table import profile_zoo_model
from explorer.profile.format import FORMATS, format_profile
from netmodels.zoo import MODELS


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "profile", help="per-split-point MACs, parameters, memory traffic and feature size",
        description="Profile every split point k of a zoo model from one trace: k = -1 sends the "
                    "input, k = last sends the result. Head columns are cumulative over units "
                    "0..k; MACs count convolutions and matrix products (FLOPs = 2 MACs).",
    )
    parser.add_argument("model", metavar="MODEL",
                        help=f"zoo model: {', '.join(MODELS.names())}")
    parser.add_argument("--input", type=input_shape, metavar="CxHxW",
                        help="input shape (default: the model's own, e.g. 3x224x224)")
    parser.add_argument("--classes", type=positive_int, metavar="N",
                        help="number of classes (default: the model's own)")
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


def run(args: argparse.Namespace) -> int:
    bits = BitWidths(weight=args.weight_bits, activation=args.act_bits, input=args.input_bits)
    profile = profile_zoo_model(args.model, input_shape=args.input, num_classes=args.classes,
                                bits=bits)
    print(format_profile(profile, args.format))
    return 0
