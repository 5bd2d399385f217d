"""A small progress bar on stderr (no tqdm in Debian's python3 here): redraws in place on a TTY, prints a
line every ~10 % otherwise (logs, CI)."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.start = time.monotonic()
        self._last_decile = -1
        self.note = ""

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.done = min(self.done + n, self.total)
        if note is not None:
            self.note = note
        frac = self.done / self.total
        elapsed = time.monotonic() - self.start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        if self.tty:
            bar = "#" * int(frac * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total} {elapsed:5.0f}s eta {eta:4.0f}s {self.note}\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            decile = int(frac * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                self.stream.write(f"{self.label}: {self.done}/{self.total} ({elapsed:.0f}s) {self.note}\n")
        self.stream.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
