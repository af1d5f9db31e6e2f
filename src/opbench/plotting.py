"""Plotting helpers every figure of the project shares: a fixed colour per model, atomic PNG writing,
file-name-safe names and readable log axes. Below ``experiments`` and ``report`` so both use them
without importing each other."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

# 16 distinct colours: the full protocol's central figure holds 12 models at once
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f", "#393b79", "#843c39", "#637939", "#7b4173", "#e7ba52", "#000000"]
_DPI = 110


def model_colours(models: Sequence[str]) -> dict[str, str]:
    """A fixed colour per model, by its position in ``models``."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def safe_name(name: str) -> str:
    """A file-name-safe form of a pde or model name (letters, digits, '-', '_', '.')."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name)).strip(".")
    return cleaned or "_"


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG to a temporary name next to ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    FigureCanvasAgg(fig)
    try:
        fig.savefig(tmp, format="png", dpi=_DPI, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def data_ticks_x(ax, values: Sequence[float], base: float = 10) -> None:
    """A log x axis ticked and labelled at ``values`` only (a ladder, sample counts): plain numbers,
    no minor labels to collide with them."""
    ticks = sorted({float(v) for v in values if float(v) > 0})
    ax.set_xscale("log", base=base)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values for a log axis from ``lo`` to ``hi``: decades, else 1-2-5, else 1..9 per decade,
    the first of these that puts 3 to 8 ticks in the range (fewer only when nothing does)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0 or hi <= lo:
        return []
    decades = range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)
    best: list[float] = []
    for subs in ((1,), (1, 2, 5), tuple(range(1, 10))):
        ticks = [float(f"{m}e{d}") for d in decades for m in subs if lo <= m * 10.0**d <= hi]
        if 3 <= len(ticks) <= 8:
            return ticks
        if len(ticks) > len(best) and len(ticks) <= 8:
            best = ticks
    return best


def readable_log_y(ax) -> None:
    """Make ``ax``'s y axis logarithmic with a few plain-number labels (0.01, 0.02, 0.05) and
    unlabelled minor ticks, so no two labels overprint; call after plotting."""
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ticks = log_ticks(lo, hi)
    if ticks:
        ax.yaxis.set_major_locator(FixedLocator(ticks))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(lo, hi)
