"""Render the page's HTML from the Jinja2 templates shipped in ``opbench/render/templates``.

Autoescape is on: every value a template prints is escaped unless it is already ``Markup`` (a
rendered fragment). Tables are handed to the ``table`` macro as plain data built by ``table_data``,
so the formatting of numbers stays in Python (``opbench.render.formatting``) and the markup in the
templates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any
from urllib.parse import quote

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from opbench.render.formatting import interval, number


@cache
def environment() -> Environment:
    """The templates' environment: autoescaped, strict about undefined names, filters ``num``,
    ``interval`` and ``urlquote``."""
    env = Environment(loader=PackageLoader("opbench.render", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = number
    env.filters["interval"] = lambda t, spec=".3g": interval(*t, spec=spec)
    env.filters["urlquote"] = quote
    return env


def render(template: str, **context: Any) -> Markup:
    """``template`` rendered with ``context``: HTML that may be placed in another template as is."""
    return Markup(environment().get_template(template).render(**context))


def table_data(
    df: pd.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    numeric: Sequence[str] = (),
    row_class: Callable[[pd.Series], str] | None = None,
    css_class: str = "",
    caption: str = "",
) -> dict[str, Any]:
    """A table for the ``table`` macro: the header, and per row its CSS class and text cells.

    Cells are formatted by ``formats`` per column (else ``str``); columns in ``numeric`` are
    right-aligned; ``row_class`` may name a CSS class per row; ``caption`` titles the table.
    """
    formats = formats or {}
    numeric_set = set(numeric)
    head = [{"text": str(c), "num": c in numeric_set} for c in df.columns]
    rows = []
    for _, row in df.iterrows():
        cells = [{"text": str(formats[c](row[c]) if c in formats else row[c]), "num": c in numeric_set}
                 for c in df.columns]
        rows.append({"cls": row_class(row) if row_class else "", "cells": cells})
    return {"head": head, "rows": rows, "css_class": css_class, "caption": caption}


def table(df: pd.DataFrame, *args: Any, **kwargs: Any) -> Markup:
    """The HTML of one table (``table_data``'s arguments), for fragments assembled in Python."""
    return render("table.html.j2", t=table_data(df, *args, **kwargs))
