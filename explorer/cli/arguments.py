"""Argument types shared by the verbs: each rejects bad input with a message naming it."""
from __future__ import annotations

import argparse
import re


def bit_width(text: str) -> int:
    """An integer bit width in 1..32."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..32, got {text!r}") from None
    if not 1 <= value <= 32:
        raise argparse.ArgumentTypeError(f"expected an integer in 1..32, got {value}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def seconds(text: str) -> float:
    """A positive number of seconds (a time limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def input_shape(text: str) -> tuple[int, int, int]:
    """CxHxW, e.g. 3x224x224."""
    match = re.fullmatch(r"(\d+)x(\d+)x(\d+)", text.strip())
    if not match or min(map(int, match.groups())) < 1:
        raise argparse.ArgumentTypeError(f"expected CxHxW such as 3x224x224, got {text!r}")
    channels, height, width = map(int, match.groups())
    return channels, height, width
