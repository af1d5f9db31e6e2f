"""Safety of inputs: checkpoints never run pickled code, config strings are never evaluated as code."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch
import yaml

from opbench.config import validate_config
from opbench.training.checkpoint import CheckpointError, load_checkpoint
from opbench.training.resume import load_resume

ROOT = Path(__file__).resolve().parents[1]


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_malicious_pickle_saved_as_model_pt_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "payload_ran"
    path = tmp_path / "model.pt"
    torch.save({"format": "opbench-checkpoint-v1", "model": "fno", "kwargs": _Payload(marker)}, path)
    # The payload is live: an unsafe load would run it (shown on a copy of the bytes, then undone).
    pickle.loads(pickle.dumps(_Payload(marker)))
    assert marker.is_dir()
    marker.rmdir()
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "not a readable opbench checkpoint" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()
    # a resume state is read the same way: refused (training would start afresh), payload not run
    assert load_resume(path, "any") is None
    assert not marker.exists()


_CALLS = re.compile(r"(?<![\w.])(eval|exec|compile|__import__)\s*\(|yaml\.load\(|yaml\.unsafe_load|pickle\.loads?\(")


def test_no_code_path_evaluates_text_as_code() -> None:
    files = [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("workflow").rglob("*.py"),
             *ROOT.joinpath("workflow").rglob("*.smk"), ROOT / "Snakefile"]
    assert len(files) > 20
    hits = [f"{f.relative_to(ROOT)}:{n}: {line.strip()}" for f in files
            for n, line in enumerate(f.read_text().splitlines(), 1) if _CALLS.search(line)]
    assert hits == []
    # every torch.load in the package passes weights_only=True
    loads = [(f, line) for f in files for line in f.read_text().splitlines() if "torch.load(" in line]
    assert loads and all("weights_only=True" in line for _, line in loads), loads


def test_config_string_holding_python_stays_an_inert_string(tmp_path: Path) -> None:
    marker = tmp_path / "config_code_ran"
    code = f"__import__('os').mkdir({str(marker)!r})"
    cfg = yaml.safe_load((ROOT / "tests/fixtures/tiny.yaml").read_text())
    cfg["title"] = code
    cfg["models"]["fno"]["activation"] = "gelu"
    text = yaml.safe_dump(cfg)
    checked = validate_config(yaml.safe_load(text))
    assert checked["title"] == code and not marker.exists()
    bad = dict(cfg, seed=code)
    with pytest.raises(ValueError, match="seed: expected integer"):
        validate_config(bad)
    assert not marker.exists()
