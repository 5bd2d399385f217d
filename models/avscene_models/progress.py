"""Progress on stderr (no tqdm in Debian's python3 here). On a TTY a bar redraws in place with the rate (items/s)
and the time left; otherwise (logs, CI) lines at ~10 % steps, or — for long loops such as the batches of one epoch
or ``embed`` — one line every ``AVSCENE_PROGRESS_SECONDS`` seconds (default 60)."""
from __future__ import annotations

import os
import sys
import time


def progress_interval() -> float:
    return float(os.environ.get("AVSCENE_PROGRESS_SECONDS", "60"))


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class Progress:
    """``every``: seconds between lines off a TTY (None: a line per ~10 %); ``unit``: what is counted (the rate
    is shown as ``unit``/s when given)."""

    def __init__(self, total: int, label: str, stream=None, unit: str = "", every: float | None = None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.unit = unit
        self.every = every
        self.done = 0
        self.start = time.monotonic()
        self._last_decile = -1
        self._last_line = self.start
        self._last_draw = 0.0
        self.note = ""

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """What the bar says now: done/total, rate, elapsed, time left, note."""
        frac = self.done / self.total
        elapsed = time.monotonic() - self.start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        rate = f" {self.rate():.1f} {self.unit}/s" if self.unit else ""
        return f"{self.done}/{self.total}{rate} ({_duration(elapsed)}, eta {_duration(eta)}) {self.note}".rstrip()

    def update(self, n: int = 1, note: str | None = None) -> None:
        self.done = min(self.done + n, self.total)
        if note is not None:
            self.note = note
        now = time.monotonic()
        finished = self.done == self.total
        if self.tty:
            if not finished and now - self._last_draw < 0.2:
                return
            self._last_draw = now
            bar = "#" * int(self.done / self.total * 30)
            self.stream.write(f"\r{self.label} [{bar:<30}] {self.line()}\x1b[K" + ("\n" if finished else ""))
        elif self.every is not None:
            if now - self._last_line < self.every or finished:
                return
            self._last_line = now
            self.stream.write(f"{self.label}: {self.line()}\n")
        else:
            decile = int(self.done / self.total * 10)
            if decile == self._last_decile:
                return
            self._last_decile = decile
            elapsed = now - self.start
            self.stream.write(f"{self.label}: {self.done}/{self.total} ({elapsed:.0f}s) {self.note}\n")
        self.stream.flush()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
