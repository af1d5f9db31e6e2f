"""The report layer: verdict arithmetic, figures, and the HTML page built from synthetic results."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.image import imread

from opbench.report import build_report, resolution_ratios, seed_mean, summarize, verdict_sentences
from opbench.report.figures import plot_error_vs_resolution, plot_examples, plot_training_curves
from opbench.report.verdicts import ratio_sentence

LADDER = [16, 32, 64, 128, 256]
TRAIN = 64
# Mean error over seeds per model and resolution; seed 0 gets err - d, seed 1 err + d.
PROFILES = {
    "fno": {16: 0.010, 32: 0.010, 64: 0.010, 128: 0.0101, 256: 0.0102},
    "transformer": {16: 0.040, 32: 0.030, 64: 0.020, 128: 0.040, 256: 0.060},
    "mlp": {16: 0.060, 32: 0.055, 64: 0.050, 128: 0.055, 256: 0.060},
}
SPREAD = {"fno": 0.001, "transformer": 0.01, "mlp": 0.002}
LADDER_2D = [8, 16, 32]
TRAIN_2D = 16


def make_metrics(profiles: dict = PROFILES, pde: str = "burgers", train: int = TRAIN) -> pd.DataFrame:
    rows = []
    for model, prof in profiles.items():
        for seed in (0, 1):
            sign = -1 if seed == 0 else 1
            for res, err in prof.items():
                rows.append(
                    {
                        "pde": pde,
                        "model": model,
                        "seed": seed,
                        "train_res": train,
                        "eval_res": res,
                        "fine_res": 1024,
                        "rel_l2_mean": err + sign * SPREAD[model],
                        "rel_l2_std": 0.1 * err,
                        "n_params": {"fno": 287_425, "transformer": 401_153, "mlp": 66_112}[model],
                        "train_seconds": 100.0 + 10 * seed,
                        "infer_seconds_per_sample": 1e-4 * res / train,
                    }
                )
    return pd.DataFrame(rows)


def make_histories(pde: str, models: list[str]) -> dict:
    epochs = np.arange(12)
    out = {}
    for i, model in enumerate(models):
        for seed in (0, 1):
            train = 0.5 * np.exp(-0.25 * epochs) * (1 + 0.1 * i) + 1e-3 * (seed + 1)
            out[(pde, model, seed)] = pd.DataFrame(
                {
                    "epoch": epochs,
                    "train_loss": train,
                    "val_loss": 1.2 * train,
                    "lr": 1e-3 * 0.5 ** (epochs // 5),
                    "seconds": np.full(12, 0.8),
                }
            )
    return out


def make_examples_1d(pde: str, models: list[str], n: int = 3) -> dict:
    out = {}
    for i, model in enumerate(models):
        data = {}
        for r in LADDER:
            x = np.arange(r) / r
            phases = np.arange(n)[:, None] * 0.9
            a = np.sin(2 * np.pi * x + phases)
            u = 0.5 * np.sin(2 * np.pi * x + phases + 0.3)
            pred = u + 0.02 * (i + 1) * np.cos(6 * np.pi * x) * (r / TRAIN)
            dims = ("example", f"x_s{r}")
            data[f"a_s{r}"] = (dims, a)
            data[f"u_s{r}"] = (dims, u)
            data[f"pred_s{r}"] = (dims, pred)
        coords = {f"x_s{r}": np.arange(r) / r for r in LADDER}
        out[(pde, model, 0)] = xr.Dataset(data, coords=coords)
    return out


def make_examples_2d(pde: str, models: list[str], n: int = 2) -> dict:
    out = {}
    for i, model in enumerate(models):
        data, coords = {}, {}
        for r in LADDER_2D:
            g = np.linspace(0, 1, r)
            X, Y = np.meshgrid(g, g, indexing="xy")
            u = np.stack([np.sin(np.pi * X) * np.sin(np.pi * Y) * (k + 1) for k in range(n)])
            dims = ("example", f"y_s{r}", f"x_s{r}")
            data[f"a_s{r}"] = (dims, np.where(u > 0.5, 12.0, 3.0))
            data[f"u_s{r}"] = (dims, u)
            data[f"pred_s{r}"] = (dims, u * (1 + 0.05 * (i + 1)))
            coords[f"x_s{r}"] = g
            coords[f"y_s{r}"] = g
        out[(pde, model, 0)] = xr.Dataset(data, coords=coords)
    return out


def make_config(title: str = "opbench test report") -> dict:
    return {
        "title": title,
        "pdes": {
            "burgers": {"type": "burgers", "train_res": TRAIN, "ladder": LADDER, "nu": 0.1},
            "darcy": {"type": "darcy", "train_res": TRAIN_2D, "ladder": LADDER_2D},
        },
        "models": {
            "fno": {"type": "fno", "modes": 16, "width": 64},
            "transformer": {"type": "transformer", "d_model": 64, "layers": 4},
            "mlp": {"type": "mlp", "hidden": 256},
        },
    }


# --- verdicts -------------------------------------------------------------------------------------


def _row(ratios: pd.DataFrame, model: str) -> pd.Series:
    return ratios.set_index("model").loc[model]


def test_flat_error_is_invariant_and_threefold_growth_is_not():
    ratios = resolution_ratios(make_metrics(), tolerance=1.3)
    assert bool(_row(ratios, "fno")["invariant"])
    assert not bool(_row(ratios, "transformer")["invariant"])
    (summary,) = summarize(ratios, 1.3)
    assert summary.invariant == ["fno", "mlp"]
    assert [m for m, _, _ in summary.not_invariant] == ["transformer"]
    model, worst, res = summary.not_invariant[0]
    assert worst == pytest.approx(3.0) and res == 256


def test_ratios_divide_seed_means_not_mean_of_seed_ratios():
    # transformer seeds: 0.01 and 0.03 at 64, 0.05 and 0.07 at 256 -> means 0.02 and 0.06 -> 3.0
    # (the mean of per-seed ratios would be (5 + 7/3) / 2 = 3.67).
    r = _row(resolution_ratios(make_metrics()), "transformer")
    assert r["err_train"] == pytest.approx(0.02)
    assert r["ratio_finest"] == pytest.approx(3.0)
    assert r["finest_res"] == 256 and r["coarsest_res"] == 16
    assert r["ratio_coarsest"] == pytest.approx(0.04 / 0.02)
    assert _row(resolution_ratios(make_metrics()), "fno")["ratio_finest"] == pytest.approx(1.02)


def test_seed_mean_spread_and_counts():
    agg = seed_mean(make_metrics()).set_index(["model", "eval_res"])
    tf = agg.loc[("transformer", 256)]
    assert tf["rel_l2"] == pytest.approx(0.06)
    assert tf["rel_l2_min"] == pytest.approx(0.05) and tf["rel_l2_max"] == pytest.approx(0.07)
    assert tf["rel_l2_seed_std"] == pytest.approx(np.std([0.05, 0.07], ddof=1))
    assert tf["n_seeds"] == 2
    assert len(agg) == len(PROFILES) * len(LADDER)


def test_tolerance_decides_borderline_model():
    # mlp's worst ratio is 0.06 / 0.05 = 1.2
    assert bool(_row(resolution_ratios(make_metrics(), tolerance=1.2 + 1e-9), "mlp")["invariant"])
    assert not bool(_row(resolution_ratios(make_metrics(), tolerance=1.1), "mlp")["invariant"])
    with pytest.raises(ValueError):
        resolution_ratios(make_metrics(), tolerance=0.5)


def test_missing_training_resolution_gives_no_verdict():
    prof = {"fno": {16: 0.01, 32: 0.01, 128: 0.01}}
    m = make_metrics(prof)
    ratios = resolution_ratios(m)
    assert np.isnan(ratios.loc[0, "ratio_finest"]) and not ratios.loc[0, "invariant"]
    (s,) = summarize(ratios)
    assert s.unknown == ["fno"] and s.invariant == []
    assert "not evaluated at its training resolution 64" in ratio_sentence(ratios.iloc[0])


def test_conflicting_training_resolutions_are_refused():
    m = make_metrics()
    m.loc[(m["model"] == "fno") & (m["seed"] == 1), "train_res"] = 128
    with pytest.raises(ValueError, match="burgers/fno"):
        seed_mean(m)


def test_sentences_quote_the_computed_ratios():
    v = verdict_sentences(make_metrics(), 1.3)["burgers"]
    summary, *per_model = v
    assert "fno, mlp" in summary and "transformer (up to 3.00x at 256)" in summary
    tf = next(s for s in per_model if "transformer" in s)
    assert "grows by 3.00x from the training resolution 64 to 256 (4x finer)" in tf
    assert "grows by 2.00x at 16 (4x coarser)" in tf
    fno = next(s for s in per_model if s.startswith("On burgers, fno"))
    assert "grows by 1.02x" in fno and "stays at 1.00x at 16 (4x coarser)" in fno
    assert len(per_model) == len(PROFILES)


def test_sentence_for_darcy_like_ladder_and_shrinking_error():
    row = {
        "pde": "darcy", "model": "fno", "train_res": 85, "err_train": 0.0108,
        "finest_res": 421, "ratio_finest": 0.907, "coarsest_res": 85, "ratio_coarsest": 1.0,
    }  # fmt: skip
    s = ratio_sentence(row)
    assert "shrinks to 0.91x from the training resolution 85 to 421 (4.95x finer)" in s
    assert "coarser" not in s


# --- figures --------------------------------------------------------------------------------------


def _assert_real_png(path: Path | None) -> None:
    assert path is not None and path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.shape[0] > 200 and img.shape[1] > 300
    assert float(img[..., :3].std()) > 0.01  # something was drawn, not a blank canvas


def test_figures_are_nonempty_pngs(tmp_path):
    # the 2D example figure is drawn (and checked) by the page fixture below
    models = list(PROFILES)
    _assert_real_png(plot_error_vs_resolution(make_metrics(), "burgers", tmp_path / "e.png", models))
    _assert_real_png(plot_examples(make_examples_1d("burgers", models), "burgers", TRAIN, tmp_path / "x.png"))
    _assert_real_png(plot_training_curves(make_histories("burgers", models), "burgers", tmp_path / "t.png"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_figures_return_none_without_data(tmp_path):
    assert plot_error_vs_resolution(make_metrics(), "heat", tmp_path / "e.png") is None
    assert plot_examples({}, "burgers", TRAIN, tmp_path / "x.png") is None
    assert plot_training_curves({}, "burgers", tmp_path / "t.png") is None
    assert list(tmp_path.iterdir()) == []


# --- the page -------------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """Collects <img src>, table rows (tagged with the enclosing <h2>) and list items."""

    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.items: list[str] = []
        self.section = ""
        self._h2: list[str] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._li: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        elif tag == "h2":
            self._h2 = []
        elif tag == "footer":
            self.section = "footer"
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._li = []

    def handle_endtag(self, tag):
        if tag == "h2" and self._h2 is not None:
            self.section, self._h2 = "".join(self._h2), None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self.section, self._row))
            self._row = None
        elif tag == "li" and self._li is not None:
            self.items.append("".join(self._li))
            self._li = None

    def handle_data(self, data):
        for buf in (self._h2, self._cell, self._li):
            if buf is not None:
                buf.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    models = list(PROFILES)
    metrics = pd.concat(
        [
            make_metrics(),
            make_metrics(
                {m: dict(zip(LADDER_2D, [0.02, 0.02, 0.021], strict=True)) for m in models},
                pde="darcy",
                train=TRAIN_2D,
            ),
        ],
        ignore_index=True,
    )
    histories = make_histories("burgers", models) | make_histories("darcy", models)
    examples = make_examples_1d("burgers", models) | make_examples_2d("darcy", models)
    config = make_config(title="Results <script>alert(1)</script> & more")
    provenance = {"opbench": "0.1.0", "torch": "2.13.0", "note": '<img src=x onerror="alert(2)">'}
    out = tmp_path_factory.mktemp("report")
    index = build_report(metrics, histories, examples, config, provenance, out)
    parser = _PageParser()
    text = index.read_text(encoding="utf-8")
    parser.feed(text)
    return {"index": index, "text": text, "page": parser, "metrics": metrics}


def test_page_images_exist_under_relative_paths(built):
    page, index = built["page"], built["index"]
    assert index.name == "index.html"
    expected = {
        f"figures/{kind}_{pde}.png"
        for kind in ("error_vs_resolution", "examples", "training_curves")
        for pde in ("burgers", "darcy")
    } | {"figures/error_overview.png"}  # the central figure: every PDE in one
    assert set(page.imgs) == expected
    for src in page.imgs:
        assert not src.startswith("/") and "://" not in src
        _assert_real_png(index.parent / src)
    leftovers = [p for p in index.parent.rglob(".*") if p.is_file()]
    assert leftovers == []


def test_page_table_has_every_pde_model_resolution(built):
    rows = built["page"].rows
    for (pde, model, res), g in built["metrics"].groupby(["pde", "model", "eval_res"]):
        match = [c for sec, c in rows if sec == pde and c[:2] == [model, str(res)]]
        assert len(match) == 1, (pde, model, res)
        mean = g["rel_l2_mean"].mean()
        assert match[0][3] == f"{mean:.4g}"  # mean over seeds, formatted
    cost = [c for sec, c in rows if sec == "Cost" and c[0] != "pde"]
    assert {(c[0], c[1]) for c in cost} == {(p, m) for p in ("burgers", "darcy") for m in PROFILES}
    tf = next(c for c in cost if c[:2] == ["burgers", "transformer"])
    assert tf[2] == "401,153" and tf[3] == "105.0"
    footer = {c[0]: c[1] for sec, c in rows if sec == "footer"}
    assert footer["torch"] == "2.13.0"


def test_page_verdicts_carry_the_computed_ratios(built):
    ratios = resolution_ratios(built["metrics"])
    items = built["page"].items
    for r in ratios.itertuples():
        sentence = next(i for i in items if i.startswith(f"On {r.pde}, {r.model}'s error"))
        assert f"{r.ratio_finest:.2f}x" in sentence
    assert any(i.startswith("burgers: ") and "transformer (up to 3.00x at 256)" in i for i in items)
    assert any(i.startswith("darcy: ") and "fno, transformer, mlp" in i for i in items)


def test_page_escapes_user_text(built):
    text = built["text"]
    assert "<script>" not in text and "alert(1)</script>" not in text
    assert "Results &lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in text
    assert "interpolated" in text  # the claim states how models are run off their grid


def test_tolerance_from_config_and_rebuild_in_place(tmp_path):
    config = make_config() | {"report": {"invariance_tolerance": 3.5}}
    metrics = make_metrics()
    first = build_report(metrics, {}, {}, config, {}, tmp_path)
    text = first.read_text(encoding="utf-8")
    assert (
        "within 3.5x of their training-resolution error at every evaluated resolution: fno, "
        "transformer, mlp" in text
    )
    assert "No example predictions were stored for burgers" in text
    # an explicit tolerance wins over the config, and a second build replaces the page in place
    again = build_report(metrics, {}, {}, config, {}, tmp_path, tolerance=1.1)
    assert again == first
    assert "not invariant: transformer (up to 3.00x at 256), mlp (up to 1.20x at " in again.read_text()
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "error_overview.png", "error_vs_resolution_burgers.png"]


def test_a_single_rung_ladder_gets_no_invariance_verdict() -> None:
    from opbench.report.verdicts import resolution_ratios, summarize, summary_sentence

    metrics = pd.DataFrame([
        {"pde": "ns", "model": m, "seed": 0, "train_res": 64, "eval_res": 64, "rel_l2_mean": e}
        for m, e in (("fno", 0.1), ("transformer", 0.2))
    ])
    (summary,) = summarize(resolution_ratios(metrics))
    text = summary_sentence(summary)
    assert text == "ns: only resolution 64 was evaluated, so there is no invariance verdict."


def test_model_colours_stay_distinct_for_the_full_protocols_models() -> None:
    """The central figure of configs/claims.yaml holds 12 models on one legend: none may share a colour."""
    from opbench.report.figures import model_colours

    names = [f"m{i}" for i in range(16)]
    assert len(set(model_colours(names).values())) == 16
    assert model_colours(["a", "b"]) == {k: v for k, v in model_colours(["a", "b", "c"]).items() if k != "c"}
