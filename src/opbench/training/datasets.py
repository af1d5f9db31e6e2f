"""The (input, target) pairs of a split, held in memory or read lazily from its NetCDF file.

A split whose pairs fit the memory budget (``data.memory_budget_mb``) is loaded whole, as
before; a larger one is a ``NetCDFPairs``: a torch ``Dataset`` that reads the samples a batch
needs from the file (a background thread fetches the next batches while the model trains, see
``prefetched``). Both expose the same pairs in the same order, and the normalizer statistics
and the resume fingerprint are computed in the same chunks for both, so training on either is
bit for bit the same on CPU.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from opbench.data.netcdf import check_finite, open_checked, read_pair
from opbench.training.normalization import Normalizer
from opbench.training.tasks import RolloutTask, Task

# Pairs per chunk of the statistics pass: about this many bytes, whatever holds the split.
STATS_CHUNK_BYTES = 8 << 20
# HDF5 chunk cache per variable when reading lazily: batches are random samples, so a cache bigger
# than a few chunks only holds memory (the library default is tens of MB per variable).
READ_CACHE_BYTES = 1 << 20


class Pairs(torch.utils.data.Dataset):
    """Pair ``i`` is ``(x[i], y[i])``, float32 arrays of shapes ``x_shape`` and ``y_shape`` (C, *grid)."""

    n: int
    x_shape: tuple[int, ...]
    y_shape: tuple[int, ...]

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs ``idx`` (in that order), as float32 arrays (len(idx), C, *grid)."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.take(np.array([i]))
        return torch.from_numpy(x[0]), torch.from_numpy(y[0])

    @property
    def pair_nbytes(self) -> int:
        return 4 * (int(np.prod(self.x_shape)) + int(np.prod(self.y_shape)))

    @property
    def nbytes(self) -> int:
        return self.n * self.pair_nbytes

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(start, x, y)`` for consecutive pairs, ``size`` at a time."""
        for start in range(0, self.n, max(1, size)):
            x, y = self.take(np.arange(start, min(start + size, self.n)))
            yield start, x, y

    def stats_chunk(self) -> int:
        return max(1, STATS_CHUNK_BYTES // self.pair_nbytes)


class ArrayPairs(Pairs):
    """Pairs held in memory."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        if x.shape[0] != y.shape[0]:
            raise ValueError("inputs and outputs must have the same number of samples")
        self.x, self.y = x, y
        self.n, self.x_shape, self.y_shape = int(x.shape[0]), tuple(x.shape[1:]), tuple(y.shape[1:])

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (np.ascontiguousarray(self.x[idx], dtype=np.float32),
                np.ascontiguousarray(self.y[idx], dtype=np.float32))


class NetCDFPairs(Pairs):
    """Pairs read from an opbench NetCDF file on demand (static: one per sample; rollout: every window).

    The file is checked for layout when opened and for NaN/inf as its chunks are read. One reader
    at a time: the training loop reads from one thread (its prefetcher) while it trains.
    """

    def __init__(self, path: str | Path, task: Task, *, expect_res: int | None = None,
                 expect: Mapping[str, Any] | None = None) -> None:
        import netCDF4

        self.path, self.task = Path(path), task
        with open_checked(self.path, expect_res=expect_res, expect=expect) as ds:
            a_shape = tuple(int(n) for d, n in ds["a"].sizes.items() if d != "sample")
            u_shape = tuple(int(n) for d, n in ds["u"].sizes.items() if d != "sample")
            self.n_samples = int(ds.sizes["sample"])
        if isinstance(task, RolloutTask):
            steps = u_shape[0] - task.history
            if len(u_shape) < 2 or steps < 1:
                raise ValueError(f"{self.path}: rollout needs more than history={task.history} snapshots")
            self.windows = steps
            self.n = self.n_samples * steps
            self.x_shape, self.y_shape = (task.history, *u_shape[1:]), (1, *u_shape[1:])
        else:
            self.windows = 0
            self.n, self.x_shape, self.y_shape = self.n_samples, (1, *a_shape), (1, *u_shape)
        self._nc = netCDF4.Dataset(self.path, "r")
        self._nc.set_auto_mask(False)
        for name in ("a", "u"):
            self._nc[name].set_var_chunk_cache(size=READ_CACHE_BYTES, nelems=61, preemption=0.75)

    def _read(self, name: str, samples: np.ndarray) -> np.ndarray:
        """Variable ``name`` at the increasing sample indices ``samples`` (one slice when contiguous)."""
        var = self._nc[name]
        if len(samples) and samples[-1] - samples[0] + 1 == len(samples):
            out = var[int(samples[0]) : int(samples[-1]) + 1]
        else:
            out = np.stack([var[int(i)] for i in samples]) if len(samples) else var[0:0]
        out = np.asarray(out, dtype=np.float32)
        check_finite(self.path, name, out, int(samples[0]) if len(samples) else 0)
        return out

    def take(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        if self.windows:
            traj, j = np.divmod(idx, self.windows)
            wanted, where = np.unique(traj, return_inverse=True)
            u = self._read("u", wanted)[where]  # (len(idx), T, *grid)
            h = self.task.history
            rows = np.arange(len(idx))[:, None]
            x = u[rows, j[:, None] + np.arange(h)[None, :]]
            y = u[np.arange(len(idx)), j + h][:, None]
            return np.ascontiguousarray(x), np.ascontiguousarray(y)
        wanted, where = np.unique(idx, return_inverse=True)
        a, u = self._read("a", wanted)[where], self._read("u", wanted)[where]
        return np.ascontiguousarray(a[:, None]), np.ascontiguousarray(u[:, None])

    def close(self) -> None:
        if self._nc.isopen():
            self._nc.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing to do
            pass


def in_memory_nbytes(path: str | Path, task: Task, *, expect_res: int | None = None) -> int:
    """Bytes loading the split whole takes: the file's arrays plus the training pairs cut from them."""
    pairs = NetCDFPairs(path, task, expect_res=expect_res)
    try:
        with open_checked(path) as ds:
            raw = 4 * sum(int(ds[v].size) for v in ("a", "u"))
        return raw + (pairs.nbytes if isinstance(task, RolloutTask) else 0)
    finally:
        pairs.close()


def open_pairs(path: str | Path, task: Task, *, expect_res: int | None = None,
               budget_mb: float | None = None, expect: Mapping[str, Any] | None = None) -> Pairs:
    """The split's pairs: in memory when they fit ``budget_mb`` (None: always), else read lazily.

    ``expect``: attributes the file must carry (see ``opbench.data.netcdf.open_checked``)."""
    if budget_mb is not None and in_memory_nbytes(path, task, expect_res=expect_res) > budget_mb * 2**20:
        return NetCDFPairs(path, task, expect_res=expect_res, expect=expect)
    a, u, _ = read_pair(path, expect_res=expect_res, expect=expect)
    return ArrayPairs(*task.training_pairs(a, u))


def fit_normalizer(pairs: Pairs, eps: float = 1e-8, digest: Any = None) -> Normalizer:
    """Per-channel mean and standard deviation of inputs and outputs, in fixed chunks of pairs.

    Two passes (mean, then mean squared deviation) in float64, chunk by chunk, so a split read
    lazily gives the same bits as one in memory. ``digest`` (a hashlib object), if given, is fed
    the pairs' bytes on the first pass (see ``pairs_fingerprint``).
    """
    size = pairs.stats_chunk()
    n_x = pairs.n * int(np.prod(pairs.x_shape[1:]))
    n_y = pairs.n * int(np.prod(pairs.y_shape[1:]))
    sx, sy = np.zeros(pairs.x_shape[0]), np.zeros(pairs.y_shape[0])
    for _, x, y in pairs.chunks(size):
        if digest is not None:
            digest.update(x.tobytes())
            digest.update(y.tobytes())
        sx += _channel_sum(x)
        sy += _channel_sum(y)
    mx, my = sx / n_x, sy / n_y
    vx, vy = np.zeros_like(sx), np.zeros_like(sy)
    for _, x, y in pairs.chunks(size):
        vx += _channel_sum((x.astype(np.float64) - _bcast(mx, x)) ** 2)
        vy += _channel_sum((y.astype(np.float64) - _bcast(my, y)) ** 2)
    return Normalizer(torch.from_numpy(mx).float(), torch.from_numpy(np.maximum(np.sqrt(vx / n_x), eps)).float(),
                      torch.from_numpy(my).float(), torch.from_numpy(np.maximum(np.sqrt(vy / n_y), eps)).float())


def _channel_sum(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).sum(axis=tuple(i for i in range(x.ndim) if i != 1))


def _bcast(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    return m.reshape(1, -1, *([1] * (x.ndim - 2)))


def pairs_digest(splits: Sequence[Pairs]) -> Any:
    """A sha256 object fed the shapes of ``splits`` (their bytes follow in ``fit_normalizer``)."""
    h = hashlib.sha256()
    for p in splits:
        h.update(f"{p.n}{p.x_shape}{p.y_shape}".encode())
    return h


def feed_digest(digest: Any, pairs: Pairs) -> None:
    """Feed every pair's bytes to ``digest``, in the chunks ``fit_normalizer`` uses."""
    for _, x, y in pairs.chunks(pairs.stats_chunk()):
        digest.update(x.tobytes())
        digest.update(y.tobytes())


def prefetched(pairs: Pairs, order: np.ndarray, starts: Sequence[int], batch_size: int,
               depth: int = 2) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The batches ``order[s : s + batch_size]`` for ``s`` in ``starts``, read ``depth`` ahead in a thread."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for s in starts:
                if not put(pairs.take(order[s : s + batch_size])):
                    return
            put(done)
        except BaseException as exc:  # handed to the training loop, which raises it
            put(exc)

    thread = threading.Thread(target=work, name="opbench-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
