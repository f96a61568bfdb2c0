"""`split-explorer hw list` / `hw show NAME[:MODE]`: the hardware catalog with its sources."""
from __future__ import annotations

import argparse


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser("hw", help="the hardware catalog: presets and their sources",
                              description="List the hardware presets or show one preset's "
                                          "parameters, each with its source or calibration.")
    actions = parser.add_subparsers(dest="hw_action", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    listing = actions.add_parser("list", help="every preset: name, kind, description")
    listing.set_defaults(run=_list)
    show = actions.add_parser("show", help="one preset's parameters with sources",
                              description="Show a preset's parameters (value, unit, SI value, "
                                          "source or calibration, note), its components and modes.")
    show.add_argument("name", metavar="NAME[:MODE]",
                      help="preset name, optionally with a mode, e.g. wifi-80211bgn-004:22mbps")
    show.set_defaults(run=_show)


def _list(args: argparse.Namespace) -> None:
    from hwmodels import format_preset_list

    print(format_preset_list())


def _show(args: argparse.Namespace) -> None:
    from hwmodels import describe_preset

    print(describe_preset(args.name))
