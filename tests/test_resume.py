"""Resumable training: SIGTERM (as SLURM sends on pre-emption) and SIGKILL delivered for real to a
training process; the restarted process resumes and ends with the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from opbench.training.checkpoint import load_checkpoint

CHILD = Path(__file__).with_name("resume_child.py")
EPOCHS, EVERY = 60, 7
pytestmark = pytest.mark.slow


def _start(out: Path) -> subprocess.Popen:
    out.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, str(CHILD), str(out), str(EPOCHS), str(EVERY)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(out: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, str(CHILD), str(out), str(EPOCHS), str(EVERY)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _epochs_done(out: Path) -> int:
    try:
        return max(0, len((out / "history.csv").read_text().splitlines()) - 1)
    except FileNotFoundError:
        return 0


def _interrupt(out: Path, sig: int, after_epochs: int) -> subprocess.CompletedProcess:
    proc = _start(out)
    deadline = time.monotonic() + 300
    while _epochs_done(out) < after_epochs:
        assert proc.poll() is None, f"training ended before it could be interrupted: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted")
    proc = _finish(out)
    assert "resumed_from_epoch=0" in proc.stdout
    assert not (out / "resume.pt").exists()
    return out


def _assert_same_result(out: Path, reference: Path) -> None:
    ref = torch.load(reference / "model.pt", weights_only=True)
    got = torch.load(out / "model.pt", weights_only=True)
    assert got["meta"]["epoch"] == ref["meta"]["epoch"]
    assert ref["state_dict"].keys() == got["state_dict"].keys()
    for key, value in ref["state_dict"].items():
        assert torch.equal(value, got["state_dict"][key]), key  # bit for bit
    cols = ["epoch", "train_loss", "val_loss", "lr"]  # "seconds" is a timing
    pd.testing.assert_frame_equal(pd.read_csv(out / "history.csv")[cols], pd.read_csv(reference / "history.csv")[cols],
                                  check_exact=True)
    assert not (out / "resume.pt").exists()  # removed when training ends


def test_sigterm_saves_at_the_next_step_and_the_restart_resumes_bit_for_bit(tmp_path, reference) -> None:
    out = tmp_path / "run"
    killed = _interrupt(out, signal.SIGTERM, after_epochs=3)
    assert killed.returncode != 0
    lines = [ln for ln in killed.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("opbench error: training of fno interrupted by SIGTERM"), killed.stderr
    state = torch.load(out / "resume.pt", weights_only=True)  # complete, and loadable without pickle code
    assert 4 <= state["epoch"] < EPOCHS  # three epochs were in the history when SIGTERM was sent
    load_checkpoint(out / "model.pt")  # the best checkpoint so far is whole too
    done = _finish(out)
    assert f"resumed_from_epoch={state['epoch']}" in done.stdout
    _assert_same_result(out, reference)


def test_sigkill_resumes_from_the_last_periodic_state(tmp_path, reference) -> None:
    out = tmp_path / "run"
    killed = _interrupt(out, signal.SIGKILL, after_epochs=2 * EVERY + 1)
    assert killed.returncode == -signal.SIGKILL
    state = torch.load(out / "resume.pt", weights_only=True)
    assert state["batch"] == 0 and (state["epoch"] - 1) % EVERY == 0 and state["epoch"] > EVERY
    done = _finish(out)
    assert f"resumed_from_epoch={state['epoch']}" in done.stdout
    _assert_same_result(out, reference)


def test_a_resume_state_of_another_setup_is_ignored(tmp_path, capsys) -> None:
    from resume_child import data

    from opbench.training.resume import save_resume
    from opbench.training.trainer import TrainConfig, train

    save_resume(tmp_path / "resume.pt", {"fingerprint": "another setup", "epoch": 5, "batch": 0})
    a, u = data(8, 16, 0)
    info = train("mlp", {"hidden": 8, "layers": 1}, a, u, a, u, periodic=True,
                 cfg=TrainConfig(epochs=2, batch_size=4), seed=0, checkpoint_path=tmp_path / "m.pt",
                 history_path=tmp_path / "h.csv", device="cpu", progress=False, resume_path=tmp_path / "resume.pt")
    assert info["resumed_from_epoch"] == 0 and len(pd.read_csv(tmp_path / "h.csv")) == 2
    assert "belongs to another setup" in capsys.readouterr().err
    assert not (tmp_path / "resume.pt").exists()
