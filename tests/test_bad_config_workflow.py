"""Issue 15 through the real Snakemake CLI: a config mistake costs nothing and deletes nothing.

Every case runs ``snakemake all`` in a copy of one finished tiny run with a bad config (a file,
or ``--config`` values) and asserts: a non-zero exit, exactly one ``opbench config error`` line
holding the expected fragments, no job started (no file under results/ or logs/ added or
touched), and the finished ``model.pt`` still there, byte for byte. Those cases stop before
Snakemake plans a job, so each costs only Snakemake's start-up. A second group shows what a
valid but unusual input does: ``--config`` values typed as in a file, and cosmetic fields that
rerun nothing upstream of the report.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from tiny_workflow import TINY, copy_run, reference_run, snakemake

pytestmark = pytest.mark.slow
MODEL = "results/runs/burgers/fno/seed0/model.pt"


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory)


def _state(work: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under results/ and logs/: any job would add or touch one."""
    return {str(p.relative_to(work)): (p.stat().st_size, p.stat().st_mtime_ns)
            for d in ("results", "logs") for p in (work / d).rglob("*") if p.is_file()}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


def _edit(change):
    """A config text: the tiny config (key order kept) after ``change(cfg)``."""
    def text() -> str:
        cfg = _tiny()
        change(cfg)
        return yaml.safe_dump(cfg, sort_keys=False, width=10**9)
    return text


def _set(path: str, value):
    def change(cfg: dict) -> None:
        *parents, last = path.split(".")
        node = cfg
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return _edit(change)


def _add_model(name: str, entry: dict):
    def change(cfg: dict) -> None:
        cfg["models"][name] = entry
    return _edit(change)


def _alias_bomb() -> str:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return TINY.read_text().replace("report:", "bomb:\n" + "\n".join("  " + x for x in levels) + "\nreport:")


def _duplicate_training() -> str:
    return TINY.read_text() + "\ntraining:\n  epochs: 5\n  batch_size: 4\n"


def _raw(text: str):
    return lambda: text


# case -> (config text, extra --config args, fragments of the one line)
CASES = {
    "lr nan": (_set("training.lr", float("nan")), [], ["training.lr", "nan is not a finite number"]),
    "lr 1e300": (_set("training.lr", 1e300), [], ["training.lr", "1e+300", "out of range", "<= 10"]),
    "epochs 5.0": (_set("training.epochs", 5.0), [], ["training.epochs", "expected integer, got float 5.0"]),
    "nu nan": (_set("pdes.burgers.params.nu", float("nan")), [], ["pdes.burgers.params.nu", "not a finite"]),
    "T inf": (_set("pdes.burgers.params.T", float("inf")), [], ["pdes.burgers.params.T", "inf is not a finite"]),
    "fine_res 64.0": (_set("pdes.burgers.fine_res", 64.0), [], ["pdes.burgers.fine_res", "got float 64.0"]),
    "seeds [0.0]": (_set("training.seeds", [0.0]), [], ["training.seeds.0", "expected integer, got float 0.0"]),
    "train_res 32.0": (_set("pdes.burgers.train_res", 32.0), [], ["pdes.burgers.train_res", "got float 32.0"]),
    "ladder [16.0, 32]": (_set("pdes.burgers.ladder", [16.0, 32]), [], ["pdes.burgers.ladder.0", "got float 16.0"]),
    "samples 1e12": (_set("pdes.burgers.samples.train", 1e12), [],
                     ["pdes.burgers.samples.train", "expected integer, got float"]),
    "samples 10**12": (_set("pdes.burgers.samples.train", 10**12), [],
                       ["pdes.burgers.samples.train", "1000000000000 samples x 64^1 points", "exceeds",
                        "data.max_split_gb"]),
    "size ceiling": (_set("data.max_split_gb", 1e-6), [],
                     ["pdes.burgers.samples.train", "8 samples", "exceeds data.max_split_gb 1e-06",
                      "at most 0 samples"]),
    "seed 2**80": (_set("seed", 2**80), [], ["seed", "does not fit in 63 bits"]),
    "title 2 MB": (_set("title", "x" * 2_000_000), [], ["title", "2,000,000 characters is too long",
                                                        "at most 500"]),
    "alias bomb": (_raw(_alias_bomb()), [], ["YAML anchors/aliases expand to more than 100,000 values"]),
    "duplicate training": (_raw(_duplicate_training()), [], ["duplicate key 'training'"]),
    "heads do not divide d_model": (_add_model("tf", {"type": "transformer", "d_model": 10, "heads": 3,
                                                      "layers": 1}),
                                    [], ["models.tf.heads", "3 does not divide d_model 10", "1, 2, 5, 10"]),
    "fno modes beyond the grid": (_set("models.fno.modes", 100), [],
                                  ["models.fno.modes", "100 Fourier modes", "grid of 32 points", "1 to 16"]),
    "unet deeper than the grid": (_add_model("un", {"type": "unet", "width": 4, "depth": 9}), [],
                                  ["models.un.depth", "9 halvings", "1 to 5"]),
    "hnn rollout_periods 1e-9": (_set("physics.hnn.rollout_periods", 1e-9), [],
                                 ["physics.hnn.rollout_periods", "no saved step"]),
    "--config float epochs": (_raw(TINY.read_text()), ["training={epochs: 5.0}"],
                              ["training.epochs", "expected integer, got float 5.0"]),
    "--config nan lr": (_raw(TINY.read_text()), ["training={lr: .nan}"], ["training.lr", "not a finite"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_is_one_line_runs_nothing_and_keeps_the_model(tmp_path: Path, finished: Path,
                                                                 case: str) -> None:
    text, extra, fragments = CASES[case]
    work = copy_run(finished, tmp_path / "run")
    before, model = _state(work), _digest(work / MODEL)
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text())
    args = ["--cores", "1", "all"] + (["--config", *extra] if extra else [])
    proc = snakemake(work, *args, configfile=cfg)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "opbench config error" in ln]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert len(lines[0]) < 500 and len(proc.stderr) < 20_000, len(proc.stderr)  # one short line, no dump
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert _state(work) == before  # no job ran, nothing touched or deleted
    assert _digest(work / MODEL) == model


# ------------------------------------------------------------------ valid input: typed alike, no needless rerun

def _planned(proc) -> set[str]:
    """Rule names of the jobs a dry run lists (its 'Job stats' table)."""
    rules, in_table = set(), False
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
        elif in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            rules.add(parts[0])
        elif in_table and parts and parts[0] == "total":
            break
    return rules


@pytest.mark.parametrize("value", ["training={epochs: 150}", "training={epochs: 150, lr: 1.0e-3}"])
def test_nested_cli_config_is_typed_like_a_file(tmp_path: Path, finished: Path, value: str) -> None:
    """`--config 'training={epochs: 150}'` equals the file's 150: accepted, and nothing reruns."""
    work = copy_run(finished, tmp_path / "run")
    proc = snakemake(work, "--cores", "1", "-n", "all", "--config", value)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "opbench config error" not in proc.stderr
    assert _planned(proc) == set(), proc.stdout[-3000:]


def test_changed_cli_value_reruns_training_only(tmp_path: Path, finished: Path) -> None:
    work = copy_run(finished, tmp_path / "run")
    proc = snakemake(work, "--cores", "1", "-n", "all", "--config", "training={epochs: 5}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert "train" in planned and not any(r.startswith("generate") for r in planned), planned


@pytest.mark.parametrize("change", ["title", "report.invariance_tolerance"])
def test_cosmetic_change_reruns_no_data_or_training(tmp_path: Path, finished: Path, change: str) -> None:
    work = copy_run(finished, tmp_path / "run")
    cfg = tmp_path / "cosmetic.yaml"
    value = "another title" if change == "title" else 1.5
    cfg.write_text(_set(change, value)())
    proc = snakemake(work, "--cores", "1", "-n", "all", configfile=cfg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = _planned(proc)
    assert planned <= {"report", "all"} and "report" in planned, planned


# mappings whose order is content: the report lists PDEs and models in config order
ORDERED = ("pdes", "models")


def _reordered(value, top: bool = False):
    """``value`` with the keys of every mapping in reverse order (lists keep theirs); at the top
    level, the PDEs and models keep their order while each entry's keys are reversed."""
    if isinstance(value, dict):
        return {k: {name: _reordered(entry) for name, entry in value[k].items()} if top and k in ORDERED
                else _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def test_config_with_keys_in_another_order_reruns_nothing(tmp_path: Path, finished: Path) -> None:
    """The same config re-serialized with every mapping's keys reversed (params {T, nu}, grf
    {sigma, tau, alpha}, training, data, ...) plans no job. Reversing the order of the models, which
    is the page's order, reruns the report alone; one changed value still reruns its data."""
    work = copy_run(finished, tmp_path / "run")
    cfg = tmp_path / "reordered.yaml"

    def planned(content: dict) -> set[str]:
        cfg.write_text(yaml.safe_dump(content, sort_keys=False, width=10**9))
        proc = snakemake(work, "--cores", "1", "-n", "all", configfile=cfg)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return _planned(proc)

    reordered = _reordered(_tiny(), top=True)
    assert list(reordered["pdes"]["burgers"]["params"]) == ["T", "nu"]  # the order did change
    assert list(reordered)[0] == "report" and list(reordered["models"]) == ["fno", "mlp"]
    assert planned(reordered) == set()
    reordered["models"] = dict(reversed(list(reordered["models"].items())))
    assert planned(reordered) == {"report", "all"}
    reordered["pdes"]["burgers"]["params"]["nu"] = 0.11
    assert "generate_burgers" in planned(reordered)
