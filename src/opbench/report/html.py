"""Small HTML building blocks; every piece of text passed in is escaped here."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import quote

import pandas as pd

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0;
       line-height: 1.5; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 3rem; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: 0.3rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
p.claim { background: #f3f6fa; border-left: 4px solid #4a78b0; padding: 0.7rem 1rem; }
ul.verdicts li { margin: 0.2rem 0; }
li.summary { font-weight: 600; list-style: none; margin-left: -1.2rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
table { border-collapse: collapse; margin: 0.6rem 0 1.2rem; font-size: 0.88rem; }
/* a wide table scrolls inside its own box instead of widening the page */
table { display: block; max-width: 100%; overflow-x: auto; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e3e3e3; }
th { background: #f0f0f0; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.train td { background: #fff8e1; }
table.kv td:first-child { font-weight: 600; }
/* name/value tables of parameters, side by side and wrapping */
div.cards { display: flex; flex-wrap: wrap; gap: 0 1.2rem; align-items: flex-start; }
div.cards table { margin: 0.3rem 0 0.8rem; font-size: 0.82rem; }
details { margin: 0.4rem 0 1rem; }
summary { cursor: pointer; color: #333; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0.2rem 0.6rem; }
footer { margin-top: 3rem; font-size: 0.85rem; color: #555; border-top: 1px solid #ddd; }
code { background: #f2f2f2; padding: 0 0.2rem; }
"""


def esc(value: object) -> str:
    """``str(value)`` with HTML special characters (quotes included) escaped."""
    return html.escape(str(value), quote=True)


def table(
    df: pd.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    numeric: Sequence[str] = (),
    row_class: Callable[[pd.Series], str] | None = None,
    css_class: str = "",
    caption: str = "",
) -> str:
    """An HTML table of ``df``: cells formatted by ``formats`` per column, then escaped.

    Columns named in ``numeric`` are right-aligned; ``row_class`` may name a CSS class per row;
    ``caption`` (escaped) titles the table.
    """
    formats = formats or {}
    numeric_set = set(numeric)

    def cls(col: object) -> str:
        return ' class="num"' if col in numeric_set else ""

    head = "".join(f"<th{cls(c)}>{esc(c)}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = "".join(
            f"<td{cls(c)}>{esc(formats[c](row[c]) if c in formats else row[c])}</td>" for c in df.columns
        )
        rc = row_class(row) if row_class else ""
        body.append(f'<tr class="{esc(rc)}">{cells}</tr>' if rc else f"<tr>{cells}</tr>")
    attr = f' class="{esc(css_class)}"' if css_class else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f"<table{attr}>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(src: str, alt: str, caption: str) -> str:
    """An <img> with a caption; ``src`` is a relative path, percent-quoted then escaped."""
    return (
        f'<figure><img src="{esc(quote(src))}" alt="{esc(alt)}" loading="lazy">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def bullet_list(items: Sequence[str], css_class: str = "", first_class: str = "") -> str:
    """An unordered list of escaped items; ``first_class`` marks the first item."""
    lis = []
    for i, item in enumerate(items):
        c = f' class="{esc(first_class)}"' if i == 0 and first_class else ""
        lis.append(f"<li{c}>{esc(item)}</li>")
    attr = f' class="{esc(css_class)}"' if css_class else ""
    return f"<ul{attr}>{''.join(lis)}</ul>"


def page(title: str, body: str, footer: str) -> str:
    """The whole document; ``title`` is escaped, ``body`` and ``footer`` are already HTML."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
        f"<body><main><h1>{esc(title)}</h1>\n{body}\n<footer>{footer}</footer></main></body></html>\n"
    )
