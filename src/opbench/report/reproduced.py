"""The reproduction record: the measured cells of docs/REPRODUCTION.md, shown and linked on every page.

``docs/reproduced.csv`` holds one line per measured cell of a published table (which run, trained at
which resolution, how many epochs on how many samples, on which machine and commit). The published
numbers themselves come from ``opbench.report.published``. Two renderings are made from it, so that
the page and the document can never disagree: the markdown table embedded in docs/REPRODUCTION.md
(``python -m opbench.report.reproduced`` prints it; a test checks the document holds it verbatim) and
the report page's section, whose rows link to the document's rows.

A cell is "at the paper's budget" when its epochs and training samples are the paper's. A row is
marked reproduced at the paper's budget only when opbench's cell *and* the reference implementation's
cell of that row are: a published number is never called reproduced by a run of another budget, nor
without the reference beside it on the same data.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from opbench.render.formatting import number
from opbench.render.html import render
from opbench.report.published import SOURCE, find
from opbench.report.reproduction import COLUMNS, PAPER_BUDGET

RECORD = Path(__file__).resolve().parents[3] / "docs" / "reproduced.csv"
FIELDS = ["experiment", "s", "column", "value", "trained_at", "epochs", "n_train", "train_seconds", "device",
          "commit"]
MEASURED = ["neuraloperator here", "opbench FNO", "opbench FCN"]
# Beside the errors: opbench's FNO against the reference on the same data, and the published FNO against it
# (far from 1 when the published number itself is not matched, whoever trains the model).
RATIOS = ["opbench / reference", "published / opbench"]
# Per experiment: the published setup its cells belong to, and the document's heading it links to.
EXPERIMENTS = {
    "burgers": {"pde_type": "burgers", "params": {"nu": 0.1, "T": 1.0},
                "title": "FNO paper, Burgers (Li et al. 2021, Table 1)", "anchor": "burgers-table"},
}


@dataclass(frozen=True)
class Cell:
    """One measured cell: a model's mean relative L2 test error at s, and the budget it was trained with."""

    experiment: str
    s: int
    column: str
    value: float
    trained_at: int
    epochs: int
    n_train: int
    train_seconds: float  # of the whole training run this cell was evaluated from
    device: str
    commit: str

    @property
    def paper_budget(self) -> bool:
        return self.epochs == PAPER_BUDGET["epochs"] and self.n_train == PAPER_BUDGET["n_train"]


def load(path: Path | str = RECORD) -> list[Cell]:
    """The record's cells; a malformed line is refused with one line naming the file, line and field."""
    cells = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != FIELDS:
            raise ValueError(f"{path}: header must be {','.join(FIELDS)}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                cell = Cell(row["experiment"], int(row["s"]), row["column"], float(row["value"]),
                            int(row["trained_at"]), int(row["epochs"]), int(row["n_train"]),
                            float(row["train_seconds"]), row["device"], row["commit"])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path} line {line}: {exc}") from None
            if cell.experiment not in EXPERIMENTS:
                raise ValueError(f"{path} line {line}: experiment {cell.experiment!r} is not one of "
                                 f"{', '.join(EXPERIMENTS)}")
            if cell.column not in MEASURED:
                raise ValueError(f"{path} line {line}: column {cell.column!r} is not one of {', '.join(MEASURED)}")
            cells.append(cell)
    return cells


def row_anchor(experiment: str, s: int) -> str:
    return f"{experiment}-s{s}"


def _published(experiment: str, column: str, s: int) -> float | None:
    spec = EXPERIMENTS[experiment]
    model = "fno" if column == "published FNO" else "fcn"
    found = find(spec["pde_type"], model, s, spec["params"])
    return found.rel_l2 if found else None


def rows(cells: Sequence[Cell], experiment: str) -> list[dict[str, object]]:
    """One row per s: the published values, the measured cells and whether the row is reproduced."""
    mine = [c for c in cells if c.experiment == experiment]
    out = []
    for s in sorted({c.s for c in mine}):
        at: dict[str, Cell] = {}
        # The paper trains and tests at each s: a cell trained at s is preferred, then the one trained
        # on the finest grid, then the longest run.
        for c in sorted((c for c in mine if c.s == s), key=lambda c: (c.trained_at == s, c.trained_at, c.epochs)):
            at[c.column] = c
        fno, ref = at.get("opbench FNO"), at.get("neuraloperator here")
        row: dict[str, object] = {"s": s, "published FNO": _published(experiment, "published FNO", s),
                                  "published FCN": _published(experiment, "published FCN", s)}
        row.update({col: at.get(col) for col in MEASURED})
        row["reproduced"] = bool(fno and ref and all(c.paper_budget and c.trained_at == s for c in (fno, ref)))
        pub = row["published FNO"]
        row["opbench / reference"] = fno.value / ref.value if fno and ref else None
        row["published / opbench"] = pub / fno.value if fno and pub else None
        out.append(row)
    return out


def _cell_text(cell: object) -> str:
    if cell is None:
        return "not run"
    if isinstance(cell, Cell):
        budget = "" if cell.paper_budget else f", {cell.epochs} ep / {cell.n_train} samples"
        return f"{number(cell.value)} (t={cell.trained_at}{budget})"
    return number(cell, ".4g", missing="not run")


def _ratio(value: object) -> str:
    return number(value, ".2f", missing="-")


LEGEND = ("t=N: the model was trained at s = N and evaluated at the row's s (the paper trains and tests at "
          "each s). A cell ran at the paper's budget ({epochs} epochs, {n_train} training samples) unless "
          "it says its epochs and samples. A row is reproduced at the paper's budget when opbench and the "
          "reference both ran it there; 'published / opbench' far from 1 then means that neither matches the "
          "published number on this data.").format(**PAPER_BUDGET)


def _status(row: Mapping[str, object]) -> str:
    """Reproduced, or the reason it is not: a budget below the paper's, or a model trained at another s."""
    if row["reproduced"]:
        return "reproduced at the paper's budget"
    measured = [c for c in (row["opbench FNO"], row["neuraloperator here"]) if isinstance(c, Cell)]
    if len(measured) < 2:
        return "not reproduced: opbench or the reference not run"
    if not all(c.paper_budget for c in measured):
        return "not reproduced: not the paper's budget"
    return "not reproduced: trained at another s (the paper trains and tests at each s)"


def runs(cells: Sequence[Cell], experiment: str) -> list[str]:
    """One sentence per training run behind the cells: its budget, wall time, machine and commit."""
    seen = sorted({(c.column, c.trained_at, c.epochs, c.n_train, c.train_seconds, c.device, c.commit)
                   for c in cells if c.experiment == experiment})
    return [f"{col} trained at s = {t}: {ep} epochs on {n} samples in {sec:.0f} s on {dev} (commit {commit})"
            for col, t, ep, n, sec, dev, commit in seen]


def markdown(cells: Sequence[Cell], experiment: str) -> str:
    """The document's table: its columns plus the row's status, each row carrying its link anchor."""
    head = COLUMNS + RATIOS + ["status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows(cells, experiment):
        s = int(row["s"])  # type: ignore[call-overload]
        first = f'<a id="{row_anchor(experiment, s)}"></a>{s}'
        cells_text = [_cell_text(row[c]) for c in COLUMNS[1:]] + [_ratio(row[c]) for c in RATIOS]
        lines.append("| " + " | ".join([first] + cells_text + [_status(row)]) + " |")
    lines += ["", LEGEND, "", "Training runs:", ""] + [f"- {run}" for run in runs(cells, experiment)]
    return "\n".join(lines) + "\n"


def section(cells: Sequence[Cell], doc_href: str) -> str:
    """The page's section: every recorded table, each row linked to its row of docs/REPRODUCTION.md."""
    tables = []
    for experiment, spec in EXPERIMENTS.items():
        table_rows = rows(cells, experiment)
        if not table_rows:
            continue
        tables.append({"title": spec["title"], "anchor": spec["anchor"], "runs": runs(cells, experiment), "rows": [{
            "s": int(row["s"]), "anchor": row_anchor(experiment, int(row["s"])),  # type: ignore[call-overload]
            "cells": [_cell_text(row[c]) for c in COLUMNS[1:]] + [_ratio(row[c]) for c in RATIOS],
            "status": _status(row), "reproduced": bool(row["reproduced"]),
        } for row in table_rows]})
    return str(render("reproduced.html.j2", source=SOURCE, doc_href=doc_href, budget=PAPER_BUDGET,
                      head=COLUMNS + RATIOS + ["status"], tables=tables, legend=LEGEND))


def main() -> None:
    ap = argparse.ArgumentParser(description="Print the markdown table of docs/REPRODUCTION.md from the record.")
    ap.add_argument("--record", default=str(RECORD))
    ap.add_argument("--experiment", default="burgers", choices=sorted(EXPERIMENTS))
    args = ap.parse_args()
    print(markdown(load(args.record), args.experiment), end="")


if __name__ == "__main__":
    main()
