"""The report page opened in headless Chromium, as a reader opens it.

The page is built from the synthetic results of test_report.py plus a claims table whose claim 1
has its discretization figure (a few seconds, no training). A copy of the page with a small script
appended is loaded from the same folder (so relative image paths resolve); the script waits for
every image, then writes what it measured into the DOM, which ``--dump-dom`` prints. Checked:
every <img> decodes (naturalWidth > 0), the claims table and the central error-against-resolution
figure are there, and nothing is wider than the window.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from test_experiments import _discretization_table
from test_report import (
    LADDER_2D,
    PROFILES,
    TRAIN_2D,
    make_config,
    make_examples_1d,
    make_examples_2d,
    make_histories,
    make_metrics,
)

from opbench.experiments.claim_results import compute_claims
from opbench.experiments.claims_fragment import claims_fragments
from opbench.report import build_report

pytestmark = pytest.mark.slow
WIDTH, HEIGHT = 1280, 900
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Loads every image (the page's are lazy: load them as a reader scrolling down would), waits for
# them, then records the measurements as JSON in a <pre> that --dump-dom prints.
PROBE = """
<script>
(() => {
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { img.loading = "eager"; });
  const report = () => {
    const claims = document.querySelector("table.claims");
    const central = imgs.filter((img) => img.getAttribute("src").includes("error_vs_resolution_"));
    const out = {
      images: imgs.map((img) => ({src: img.getAttribute("src"), naturalWidth: img.naturalWidth})),
      claimsRows: claims ? claims.querySelectorAll("tbody tr").length : 0,
      claimsTop: claims ? claims.getBoundingClientRect().top : null,
      central: central.map((img) => ({src: img.getAttribute("src"), naturalWidth: img.naturalWidth,
                                      top: img.getBoundingClientRect().top})),
      overview: imgs.filter((img) => img.getAttribute("src").includes("error_overview"))
        .map((img) => ({naturalWidth: img.naturalWidth, top: img.getBoundingClientRect().top})),
      innerHeight: window.innerHeight,
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    };
    const pre = document.createElement("pre");
    pre.id = "opbench-probe";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  };
  // poll on (virtual) timers, which --virtual-time-budget advances, until every image has loaded or failed
  const poll = (n) => (imgs.every((img) => img.complete) && document.readyState === "complete") || n > 150
    ? report() : setTimeout(() => poll(n + 1), 100);
  poll(0);
})();
</script>
"""


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        reason = "chromium is not installed (Debian package `chromium`; `make test` installs it when root)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return exe


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The report page with claims and the discretization figure, built from synthetic results."""
    out = tmp_path_factory.mktemp("browser_report")
    models = list(PROFILES)
    metrics = pd.concat([
        make_metrics(),
        make_metrics({m: dict(zip(LADDER_2D, [0.02, 0.02, 0.021], strict=True)) for m in models},
                     pde="darcy", train=TRAIN_2D),
    ], ignore_index=True)
    table = _discretization_table(3.0)
    # a second training resolution for two models: the figure's matrix panels
    extra = table[table["model"].isin(["fno", "transformer"])].assign(train_res=64)
    extra["rel_l2"] *= 0.8
    table = pd.concat([table, extra], ignore_index=True)
    exp = {"train_res": 32, "n_train": 8,
           "claims": {"discretization": {"contender": "transformer", "reference": "fno"}}}
    fig = out / "figures" / "claims" / "discretization.png"
    results = compute_claims({"discretization": table}, exp, [32, 64, 128], figures={"discretization": fig})
    payload = {"claims": [r.row() | {"details": [[label, iv.mean, iv.low, iv.high, iv.n] for label, iv in r.details],
                                     "figure": "figures/claims/discretization.png" if r.key == "discretization"
                                     else None} for r in results]}
    examples = make_examples_1d("burgers", models) | make_examples_2d("darcy", models)
    histories = make_histories("burgers", models) | make_histories("darcy", models)
    config = make_config() | {"pdes": {
        "burgers": {"type": "burgers", "params": {"nu": 0.1, "T": 1.0}, "grf": {"alpha": 2.0, "tau": 5.0},
                    "train_res": 64, "ladder": [16, 32, 64, 128, 256], "samples": {"train": 512, "test": 128}},
        "darcy": {"type": "darcy", "train_res": TRAIN_2D, "ladder": LADDER_2D}}}
    front, sections = claims_fragments(payload)  # as the exp_claims rule writes them
    return build_report(metrics, histories, examples, config, {"opbench": "test"}, out,
                        fragments={"claims": front, "claim_sections": sections})


def _probe(page: Path) -> dict:
    probe_page = page.with_name("_probe.html")
    text = page.read_text(encoding="utf-8")
    probe_page.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    with_profile = [f"--user-data-dir={page.parent / '_chromium_profile'}", f"--window-size={WIDTH},{HEIGHT}"]
    proc = subprocess.run([_chromium(), *FLAGS, *with_profile, "--virtual-time-budget=20000", "--dump-dom",
                           probe_page.as_uri()], capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="opbench-probe">(\{.*?)</pre>', proc.stdout, re.S)
    assert found, f"no probe result in chromium's DOM (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def test_page_in_chromium_decodes_every_image_shows_claims_and_fits_the_window(page: Path) -> None:
    result = _probe(page)
    srcs = [img["src"] for img in result["images"]]
    assert "figures/claims/discretization.png" in srcs and len(srcs) >= 7, srcs
    broken = [img["src"] for img in result["images"] if img["naturalWidth"] <= 0]
    assert broken == [], f"images that did not decode: {broken}"
    assert result["claimsRows"] == 6, result  # the six claims, one row each
    assert {c["src"] for c in result["central"]} == {"figures/error_vs_resolution_burgers.png",
                                                     "figures/error_vs_resolution_darcy.png"}
    assert result["innerWidth"] == WIDTH
    # the first screen holds the claims table and the central figure (every model, one panel per PDE)
    assert result["claimsTop"] < result["innerHeight"], result
    assert len(result["overview"]) == 1 and result["overview"][0]["naturalWidth"] > 0, result
    assert result["overview"][0]["top"] < result["innerHeight"], result
    assert result["scrollWidth"] <= result["innerWidth"], f"the page is {result['scrollWidth']} px wide"


def test_probe_sees_a_broken_image_and_an_overflow(page: Path, tmp_path: Path) -> None:
    """The probe can fail: a missing figure and a too-wide block are reported as such."""
    bad = tmp_path / "index.html"
    shutil.copytree(page.parent / "figures", tmp_path / "figures")
    text = page.read_text(encoding="utf-8")
    bad.write_text(text.replace("</main>", '<img src="figures/missing.png" alt="x">'
                                '<div style="width: 3000px">wide</div></main>'), encoding="utf-8")
    result = _probe(bad)
    assert [i["src"] for i in result["images"] if i["naturalWidth"] == 0] == ["figures/missing.png"]
    assert result["scrollWidth"] > result["innerWidth"]
