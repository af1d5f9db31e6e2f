"""The front-page claims table: rows of the physics experiments get a table of their own, escaped."""

from __future__ import annotations

import pandas as pd

from opbench.experiments.report import claims_html


def test_physics_rows_get_their_own_table_escaped_and_linked() -> None:
    extra = pd.DataFrame([
        {"claim": "HNN conserves energy <b>better</b>", "experiment": "physics_hnn/pendulum", "effect": 0.25,
         "ci_low": 0.125, "ci_high": 0.5, "verdict": "supported", "section": "Hamiltonian networks"},
    ])
    front, sections = claims_html(None, extra)
    assert "HNN conserves energy &lt;b&gt;better&lt;/b&gt;" in front and "<b>better" not in front
    assert 'href="#physics"' in front and "physics_hnn/pendulum" in front
    assert "0.25" in front and "0.125" in front and "0.5" in front
    assert front.count("<tr class=") == 1 and sections == ""
    assert 'class="claims physics"' in front and "Hamiltonian and generative models" in front
