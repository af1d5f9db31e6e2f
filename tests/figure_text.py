"""The texts a drawn matplotlib figure shows, and which of them overprint each other.

Only what is drawn counts: tick labels of ticks outside an axis's view interval exist as Text
objects but are never drawn, so each axis is asked which ticks it draws."""

from __future__ import annotations

import itertools

from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox


def drawn_texts(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every drawn, non-empty text of ``fig`` with its box in display pixels."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    fig.draw(renderer)
    tick_labels: set[int] = set()
    drawn: list[Text] = []
    for axis in fig.findobj(Axis):
        for tick in axis.majorTicks + axis.minorTicks:
            tick_labels.update({id(tick.label1), id(tick.label2)})
        if axis.axes.get_visible():
            drawn += [t for tick in axis._update_ticks() for t in (tick.label1, tick.label2)]  # noqa: SLF001
    drawn += [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in drawn
            if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible())]


def overprinted(fig: Figure) -> list[tuple[str, str]]:
    """The pairs of drawn texts whose boxes overlap."""
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(drawn_texts(fig), 2)
            if box_a.width > 0 and box_b.width > 0 and box_a.overlaps(box_b)]
