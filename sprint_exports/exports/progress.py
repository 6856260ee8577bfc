"""Progress lines for long work: "k of N", rate and ETA, about every tenth of the way."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(self, total: int, unit: str, log: Callable[[str], None], steps: int = 10) -> None:
        self.total = total
        self.unit = unit
        self.log = log
        self.every = max(1, -(-total // steps))
        self.done = 0
        self.started = time.perf_counter()

    def advance(self, count: int = 1) -> None:
        before = self.done // self.every
        self.done += count
        if self.done // self.every != before or self.done == self.total:
            self.log(self.line())

    def line(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate else 0.0
        per = self.unit.split()[0]  # "rows written to csv" -> "rows/s"
        return f"{self.done} of {self.total} {self.unit} ({rate:,.1f} {per}/s, ETA {remaining:.0f} s)"
