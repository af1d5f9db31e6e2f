"""The front-page claims table: rows of the physics experiments get a table of their own, escaped."""

from __future__ import annotations

import pandas as pd

from opbench.experiments.claims_fragment import claims_fragments
from opbench.report.physics import claims_rows_fragment


def test_physics_rows_get_their_own_table_escaped_and_linked() -> None:
    extra = pd.DataFrame([
        {"claim": "HNN conserves energy <b>better</b>", "experiment": "physics_hnn/pendulum", "effect": 0.25,
         "ci_low": 0.125, "ci_high": 0.5, "verdict": "supported", "section": "Hamiltonian networks"},
    ])
    rows = claims_rows_fragment(extra)
    assert "HNN conserves energy &lt;b&gt;better&lt;/b&gt;" in rows and "<b>better" not in rows
    assert 'href="#physics"' in rows and "physics_hnn/pendulum" in rows
    assert "0.25 [0.125, 0.5]" in rows
    assert rows.count("<tr class=") == 1
    assert 'class="claims physics"' in rows and "Hamiltonian and generative models" in rows
    assert claims_rows_fragment(extra.iloc[:0]) == ""  # no physics rows: no table at all


def test_no_claims_give_an_empty_summary_and_no_sections() -> None:
    front, sections = claims_fragments(None)
    assert "<h2>Claims</h2>" in front and front.count("<tr") == 2 and sections == ""  # the two header rows
