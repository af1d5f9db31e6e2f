"""Child process of tests/test_resume.py: one small FNO training with a resume state.

    python tests/resume_child.py OUTDIR EPOCHS CHECKPOINT_EVERY

Trains on a smooth periodic operator (a fixed Fourier multiplier), deterministic data, one
thread, so two runs of it are comparable bit for bit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from opbench.errors import one_line_errors
from opbench.training.trainer import TrainConfig, train


def data(n: int, res: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    k = np.fft.rfftfreq(res, 1.0 / res)
    spec = (rng.standard_normal((n, k.size)) + 1j * rng.standard_normal((n, k.size))) / (1 + k) ** 2
    a = np.fft.irfft(spec, n=res)
    u = np.fft.irfft(spec * np.exp(-0.05 * k**2) * 1j * k, n=res)
    return a[:, None].astype(np.float32), u[:, None].astype(np.float32)


def main() -> None:
    one_line_errors()
    out, epochs, every = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    a_tr, u_tr = data(40, 32, 0)
    a_va, u_va = data(8, 32, 1)
    info = train(
        "fno", {"modes": 6, "width": 12, "layers": 2}, a_tr, u_tr, a_va, u_va, periodic=True,
        cfg=TrainConfig(epochs=epochs, batch_size=4, lr=3e-3, step_size=20, gamma=0.7, checkpoint_every=every),
        seed=11, checkpoint_path=out / "model.pt", history_path=out / "history.csv", device="cpu",
        progress=False, resume_path=out / "resume.pt",
    )
    print(f"done resumed_from_epoch={info['resumed_from_epoch']} best_epoch={info['best_epoch']}", flush=True)


if __name__ == "__main__":
    main()
