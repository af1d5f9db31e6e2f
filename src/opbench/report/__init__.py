"""The report layer: verdicts computed from the metrics, figures, and the HTML page."""

from opbench.report.build import build_report
from opbench.report.verdicts import (
    DEFAULT_TOLERANCE,
    resolution_ratios,
    seed_mean,
    summarize,
    verdict_sentences,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "build_report",
    "resolution_ratios",
    "seed_mean",
    "summarize",
    "verdict_sentences",
]
