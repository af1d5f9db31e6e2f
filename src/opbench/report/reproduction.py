"""The side-by-side reproduction table: published FNO and FCN, neuraloperator trained here, opbench.

Rows are resolutions s of the ladder; a cell holds the test error of a model trained *and* evaluated
at s (the paper's protocol), or "not run" when no model was trained at s. A run's budget (epochs,
training samples) is printed beside the table: a cell is a reproduction only at the paper's budget,
and the markdown says so explicitly rather than letting a reader assume it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from opbench.render.formatting import number
from opbench.render.html import render, table
from opbench.report.published import SOURCE, find

COLUMNS = ["s", "published FNO", "neuraloperator here", "opbench FNO", "published FCN", "opbench FCN"]
# The extra columns: training wall seconds of the runs in the table (the paper gives none).
TIME_COLUMNS = ["neuraloperator train s", "opbench FNO train s", "opbench FCN train s"]
PAPER_BUDGET = {"epochs": 500, "n_train": 1000}


def _cell(runs: pd.DataFrame, kind: str, res: int, column: str) -> float | None:
    g = runs[(runs["kind"] == kind) & (runs["train_res"] == res) & (runs["eval_res"] == res)]
    return float(g[column].mean()) if len(g) else None


def reproduction_table(metrics: pd.DataFrame, kinds: Mapping[str, str], pde_type: str,
                       params: Mapping[str, Any], ladder: Iterable[int]) -> pd.DataFrame:
    """One row per s of ``ladder``: published and measured errors at train = test resolution.

    ``metrics``: the metrics rows of every run (columns model, train_res, eval_res, rel_l2_mean,
    train_seconds); ``kinds`` maps a model name to "fno", "fcn" or "reference".
    """
    runs = metrics.assign(kind=metrics["model"].map(dict(kinds)))
    rows = []
    for s in sorted(int(r) for r in ladder):
        fno, fcn = find(pde_type, "fno", s, params), find(pde_type, "fcn", s, params)
        rows.append({
            "s": s,
            "published FNO": fno.rel_l2 if fno else None,
            "neuraloperator here": _cell(runs, "reference", s, "rel_l2_mean"),
            "opbench FNO": _cell(runs, "fno", s, "rel_l2_mean"),
            "published FCN": fcn.rel_l2 if fcn else None,
            "opbench FCN": _cell(runs, "fcn", s, "rel_l2_mean"),
            "neuraloperator train s": _cell(runs, "reference", s, "train_seconds"),
            "opbench FNO train s": _cell(runs, "fno", s, "train_seconds"),
            "opbench FCN train s": _cell(runs, "fcn", s, "train_seconds"),
        })
    return pd.DataFrame(rows, columns=COLUMNS + TIME_COLUMNS)


def transfer_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Error of each (model, training resolution) on every rung: rows model/train_res, columns eval_res."""
    return metrics.pivot_table(index=["model", "train_res"], columns="eval_res", values="rel_l2_mean",
                               aggfunc="mean")


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return number(value, spec, missing="not run")


def budget_line(epochs: int, n_train: int) -> str:
    """Whether a run's budget is the paper's, in one sentence."""
    if epochs == PAPER_BUDGET["epochs"] and n_train == PAPER_BUDGET["n_train"]:
        return f"Budget: {epochs} epochs, {n_train} training samples: the paper's ({SOURCE})."
    return (f"Budget: {epochs} epochs, {n_train} training samples. NOT the paper's budget "
            f"({PAPER_BUDGET['epochs']} epochs, {PAPER_BUDGET['n_train']} samples): not a reproduction.")


def markdown(table: pd.DataFrame, transfer: pd.DataFrame, budget: str, notes: Iterable[str] = ()) -> str:
    """The tables as markdown for docs/REPRODUCTION.md (errors to 4 decimals, "not run" when absent)."""
    lines = [budget, "", "| " + " | ".join(COLUMNS + TIME_COLUMNS) + " |", "|" + "---|" * len(COLUMNS + TIME_COLUMNS)]
    for row in table.to_dict("records"):
        cells = [str(row["s"])] + [_fmt(row[c]) for c in COLUMNS[1:]] + [_fmt(row[c], ".0f") for c in TIME_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    if len(transfer):
        cols = list(transfer.columns)
        lines += ["", "Trained at one resolution, evaluated on every rung:", "",
                  "| model | trained at | " + " | ".join(f"s={c}" for c in cols) + " |",
                  "|" + "---|" * (len(cols) + 2)]
        for (model, res), row in transfer.iterrows():
            lines.append(f"| {model} | {res} | " + " | ".join(_fmt(row[c]) for c in cols) + " |")
    lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines).rstrip() + "\n"


def html_section(frame: pd.DataFrame, budget: str) -> str:
    """This configuration's reproduction table on the page: errors at train = test s and training times."""
    fmts = {c: (lambda v: _fmt(v)) for c in COLUMNS[1:]}
    fmts.update({c: (lambda v: _fmt(v, ".0f")) for c in TIME_COLUMNS})
    return str(render("reproduction.html.j2", budget=budget, table=table(frame, fmts, COLUMNS + TIME_COLUMNS)))
