"""A dependency-free progress line on stderr, rewritten in place (carriage return), throttled.

Shown only when enabled and stderr is a terminal, so logs and CI output stay clean. The caller
asks `due()` before computing what it shows (e.g. a loss that needs a device sync), so a hidden
or throttled line costs nothing.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 24


class ProgressLine:
    """`desc [#####.....] step/total rate it/s eta 12s loss 0.123`, refreshed at most every `interval_s`."""

    def __init__(self, total: int, *, desc: str = "train", enabled: bool = True,
                 interval_s: float = 0.25, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(enabled and isatty is not None and isatty())
        self.total, self.desc, self.interval_s = max(total, 1), desc, interval_s
        self.start = time.perf_counter()
        self.first_step: int | None = None
        self.last_shown = 0.0
        self.width = 0

    def due(self) -> bool:
        """True when the line is shown and the throttle interval has passed."""
        return self.enabled and time.perf_counter() - self.last_shown >= self.interval_s

    def show(self, step: int, **values: float) -> None:
        """Rewrite the line for `step` of total with extra named values (e.g. loss=0.12)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.first_step is None:
            self.first_step, self.start = step, now
        self.last_shown = now
        done = min(step / self.total, 1.0)
        filled = int(done * BAR_WIDTH)
        rate = (step - self.first_step) / max(now - self.start, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        extra = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        text = (f"{self.desc} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {step}/{self.total} "
                f"{rate:.1f} it/s eta {eta:.0f}s {extra}").rstrip()
        pad = " " * max(self.width - len(text), 0)  # blank what a longer previous line left
        self.width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()

    def close(self, step: int, **values: float) -> None:
        """Show the final state and end the line."""
        if self.enabled:
            self.show(step, **values)
            self.stream.write("\n")
            self.stream.flush()
