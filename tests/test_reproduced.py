"""The reproduction record: what counts as reproduced, one source for the page and the document."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from opbench.report import reproduced
from opbench.report.reproduced import FIELDS, Cell, load, markdown, rows, section
from opbench.report.reproduction import COLUMNS, TIME_COLUMNS, budget_line, html_section

ROOT = Path(__file__).resolve().parents[1]


def _cell(column: str, s: int, *, trained_at: int | None = None, epochs: int = 500, n_train: int = 1000,
          value: float = 1e-3) -> Cell:
    return Cell("burgers", s, column, value, trained_at or s, epochs, n_train, 60.0, "cpu", "abc1234")


def _status(cells: list[Cell], s: int) -> bool:
    return next(r for r in rows(cells, "burgers") if r["s"] == s)["reproduced"]


def test_a_row_is_reproduced_only_at_the_papers_budget_beside_the_reference_trained_at_s() -> None:
    both = [_cell("opbench FNO", 1024), _cell("neuraloperator here", 1024)]
    assert _status(both, 1024)
    assert not _status(both[:1], 1024)  # no reference beside it
    assert not _status([both[0], _cell("neuraloperator here", 1024, epochs=442)], 1024)  # reference cut short
    assert not _status([_cell("opbench FNO", 1024, n_train=300), both[1]], 1024)  # fewer samples
    # Trained at 1024 and evaluated at 256: the paper trains and tests at each s.
    assert not _status([_cell("opbench FNO", 256, trained_at=1024), _cell("neuraloperator here", 256,
                                                                          trained_at=1024)], 256)


def test_a_cell_trained_at_the_rows_s_is_preferred_over_a_longer_run_elsewhere() -> None:
    cells = [_cell("opbench FNO", 256, trained_at=1024, value=2e-3),
             _cell("opbench FNO", 256, trained_at=256, epochs=300, value=3e-3)]
    chosen = rows(cells, "burgers")[0]["opbench FNO"]
    assert chosen.trained_at == 256 and chosen.value == 3e-3


def test_budget_and_training_grid_are_printed_in_every_measured_cell() -> None:
    cells = [_cell("opbench FNO", 1024), _cell("neuraloperator here", 1024, epochs=442),
             _cell("opbench FCN", 1024, trained_at=1024, epochs=40, n_train=300, value=0.513)]
    md = markdown(cells, "burgers")
    row = next(line for line in md.splitlines() if 'id="burgers-s1024"' in line)
    assert "(t=1024, 442 ep / 1000 samples)" in row and "0.513 (t=1024, 40 ep / 300 samples)" in row
    assert "| 0.016 |" in row and "| 0.1877 |" in row  # the published FNO and FCN of the paper
    assert row.endswith("| 1.00 | 16.00 | not reproduced: not the paper's budget |")  # the ratios, then the status
    assert "- opbench FCN trained at s = 1024: 40 epochs on 300 samples in 60 s on cpu (commit abc1234)" in md


def test_the_document_holds_the_records_table_verbatim() -> None:
    """docs/REPRODUCTION.md and the page are rendered from one record, so they cannot disagree."""
    doc = (ROOT / "docs" / "REPRODUCTION.md").read_text()
    assert markdown(load(), "burgers") in doc, "run `python -m opbench.report.reproduced` and paste its table"


def test_the_page_section_links_each_row_and_escapes_its_text() -> None:
    cells = [_cell("opbench FNO", 1024), _cell("neuraloperator here", 1024)]
    html = section(cells, "../../docs/REPRODUCTION.md")
    assert '<a href="../../docs/REPRODUCTION.md#burgers-s1024">1024</a>' in html
    assert '<tr class="reproduced">' in html and "<strong>reproduced at the paper&#39;s budget</strong>" in html


@pytest.mark.parametrize(("line", "message"), [
    ("burgers,1024,opbench FNO,not-a-number,1024,500,1000,60,cpu,abc", r"line 2: could not convert"),
    ("heat,1024,opbench FNO,0.1,1024,500,1000,60,cpu,abc", r"line 2: experiment 'heat' is not one of burgers"),
    ("burgers,1024,FNO,0.1,1024,500,1000,60,cpu,abc", r"line 2: column 'FNO' is not one of neuraloperator here"),
])
def test_a_malformed_record_is_refused_naming_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "record.csv"
    path.write_text(",".join(FIELDS) + "\n" + line + "\n")
    with pytest.raises(ValueError, match=message):
        load(path)


def test_the_committed_record_loads() -> None:
    cells = load(reproduced.RECORD)
    assert {c.column for c in cells} >= {"opbench FNO", "neuraloperator here"}


def test_the_runs_own_table_states_its_budget_beside_the_errors() -> None:
    table = pd.DataFrame([{"s": 256, **{c: None for c in COLUMNS[1:] + TIME_COLUMNS},
                           "opbench FNO": 0.00123, "opbench FNO train s": 42.0}])
    html = html_section(table, budget_line(30, 200))
    assert "NOT the paper&#39;s budget" in html and "0.0012" in html and ">42<" in html
    assert html.count("not run") == len(COLUMNS + TIME_COLUMNS) - 3  # s, the error and its time are set
