"""NetCDF files of opbench: CF-style layout, atomic writes, and checked reads.

Layout: data variables ``a`` (input function) and ``u`` (target), dimensions ``sample`` and the
spatial axes ``x`` (and ``y``), plus ``t`` for time-dependent targets. Files carry no timestamp so
that the same config produces the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from opbench.atomic import temporary_path
from opbench.errors import OpbenchError, raise_storage

SPATIAL_DIMS = ("x", "y")


class DataFileError(OpbenchError, ValueError):
    """A data file that cannot be used: unreadable, wrong variables, NaNs, mismatched grids."""


def write_netcdf(ds: xr.Dataset, path: str | Path, *, compression_level: int = 4) -> Path:
    """Write ``ds`` to ``path`` atomically: a temporary sibling first, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    encoding: dict[str, dict[str, Any]] = {}
    for name, var in ds.data_vars.items():
        enc: dict[str, Any] = {"dtype": var.dtype}
        if compression_level > 0 and var.ndim > 0:
            enc.update(zlib=True, complevel=compression_level, shuffle=True)
        encoding[str(name)] = enc
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=encoding)
        os.replace(tmp, path)
    except Exception as exc:  # netCDF reports a full disk as RuntimeError("NetCDF: HDF error")
        raise_storage(exc, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# Target size of one HDF5 chunk. Chunks span whole samples and their shape depends only on the
# grid and the number of samples, never on how many samples one task solves, so the file's bytes
# do not depend on the compute chunking. 64 KiB keeps a random read of one sample (lazy training)
# cheap: it decompresses one small chunk.
DISK_CHUNK_BYTES = 1 << 16


def disk_chunk_samples(sample_shape: Sequence[int], itemsize: int, n_samples: int) -> int:
    """Samples per HDF5 chunk of a variable whose samples have ``sample_shape``."""
    per_sample = max(1, int(np.prod(sample_shape, dtype=np.int64)) * itemsize)
    return int(min(max(1, n_samples), max(1, DISK_CHUNK_BYTES // per_sample)))


class StreamWriter:
    """One opbench NetCDF file written in sample order, a few samples at a time, then moved into place.

    The file is created at a temporary sibling with its final sample count, coordinates and
    attributes; ``append`` writes the next samples of every data variable (``sample`` first), in
    whole HDF5 chunks (a partial chunk waits for the next call), so that the bytes do not depend
    on how the samples arrive. ``commit`` closes the file and moves it to its final name; leaving
    the context without ``commit`` (an error) removes the temporary.
    """

    def __init__(self, path: str | Path, *, n_samples: int, coords: Mapping[str, tuple[np.ndarray, Mapping]],
                 variables: Mapping[str, tuple[Sequence[str], str, Mapping[str, Any]]],
                 attrs: Mapping[str, Any], compression_level: int = 4) -> None:
        import netCDF4

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = temporary_path(self.path)
        self.n_samples, self.written = int(n_samples), 0
        self._pending: dict[str, list[np.ndarray]] = {name: [] for name in variables}
        self._held = 0
        try:
            self._nc = netCDF4.Dataset(self.tmp, "w", format="NETCDF4")
        except Exception as exc:  # a full disk or a read-only folder: one line naming the file
            self.tmp.unlink(missing_ok=True)
            raise_storage(exc, self.path)
        try:
            self._nc.setncatts(dict(attrs))
            sizes = {"sample": self.n_samples, **{k: len(v) for k, (v, _) in coords.items() if k != "sample"}}
            for dim, size in sizes.items():
                self._nc.createDimension(dim, size)
            all_coords = {"sample": (np.arange(self.n_samples), {"long_name": "sample index within the split"}),
                          **coords}
            for name, (values, var_attrs) in all_coords.items():
                values = np.asarray(values)
                var = self._nc.createVariable(name, values.dtype, (name,), fill_value=False)
                var.setncatts(dict(var_attrs))
                var[:] = values
            # One chunk length for every variable of the file (set by its largest sample), so that
            # each flush writes whole chunks of all of them.
            self._step = min(disk_chunk_samples([sizes[d] for d in dims[1:]], np.dtype(dtype).itemsize,
                                                self.n_samples) for dims, dtype, _ in variables.values())
            for name, (dims, dtype, var_attrs) in variables.items():
                if dims[0] != "sample":
                    raise ValueError(f"{name}: the first dimension must be 'sample', got {dims}")
                compress = {"zlib": True, "complevel": compression_level, "shuffle": True} \
                    if compression_level > 0 else {}
                var = self._nc.createVariable(name, dtype, tuple(dims), fill_value=False,
                                              chunksizes=(self._step, *[sizes[d] for d in dims[1:]]), **compress)
                var.setncatts(dict(var_attrs))
                # A chunk is written once, whole: a cache of a few chunks lets HDF5 flush each at once
                # instead of holding up to the library default (tens of MB per variable) until close.
                chunk_bytes = self._step * int(np.prod([sizes[d] for d in dims[1:]])) * np.dtype(dtype).itemsize
                var.set_var_chunk_cache(size=4 * chunk_bytes, nelems=37, preemption=1.0)
        except BaseException as exc:
            self._abort()
            if isinstance(exc, Exception):
                raise_storage(exc, self.path)
            raise

    def append(self, **arrays: np.ndarray) -> None:
        """Add the next samples of every data variable (arrays of equal length along ``sample``)."""
        counts = {name: arr.shape[0] for name, arr in arrays.items()}
        if set(counts) != set(self._pending) or len(set(counts.values())) != 1:
            raise ValueError(f"append needs every variable {sorted(self._pending)} with the same sample count")
        n = next(iter(counts.values()))
        if self.written + self._held + n > self.n_samples:
            raise ValueError(f"{self.path}: more than {self.n_samples} samples appended")
        for name, arr in arrays.items():
            self._pending[name].append(np.asarray(arr))
        self._held += n
        try:
            self._flush(final=self.written + self._held == self.n_samples)
        except Exception as exc:  # netCDF reports a full disk as RuntimeError("NetCDF: HDF error")
            raise_storage(exc, self.path)

    def _flush(self, final: bool) -> None:
        take = self._held if final else (self._held // self._step) * self._step
        if take == 0:
            return
        blocks = {name: np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
                  for name, parts in self._pending.items()}
        # One HDF5 chunk of each variable per write, chunk by chunk: the same write history (and so
        # the same file layout) however the samples arrived.
        for i in range(0, take, self._step):
            j = min(i + self._step, take)
            for name, block in blocks.items():
                var = self._nc[name]
                var[self.written + i : self.written + j] = block[i:j].astype(var.dtype, copy=False)
        self._pending = {name: [block[take:].copy()] if take < block.shape[0] else []
                         for name, block in blocks.items()}
        self.written += take
        self._held -= take

    def commit(self) -> Path:
        """Close the complete file and move it to its final name."""
        if self.written != self.n_samples:
            raise ValueError(f"{self.path}: {self.written} of {self.n_samples} samples written")
        try:
            self._nc.close()
            os.replace(self.tmp, self.path)
        except Exception as exc:  # the last chunks reach the disk at close
            raise_storage(exc, self.path)
        return self.path

    def _abort(self) -> None:
        try:
            if self._nc.isopen():
                self._nc.close()
        except Exception:  # closing a file on a full disk fails too; the temporary goes all the same
            pass
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tmp.exists():
            self._abort()


def coordinate(name: str, values: np.ndarray, long_name: str, units: str = "1") -> xr.DataArray:
    """A CF-annotated coordinate variable."""
    attrs = {"long_name": long_name, "units": units}
    if name in ("x", "y"):
        attrs["axis"] = name.upper()
    if name == "t":
        attrs["axis"] = "T"
        attrs["standard_name"] = "time"
    return xr.DataArray(values, dims=(name,), attrs=attrs)


def open_checked(path: str | Path, *, expect_res: int | None = None,
                 expect: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Open an opbench file lazily (nothing loaded) after checking its layout and attributes.

    Raises ``DataFileError`` (one line naming the file and the fault) for unreadable or truncated
    files, missing ``a``/``u``, dimensions other than sample/x/y/t, a dtype other than float32/64,
    no samples, grids that do not match ``expect_res``, or global attributes that differ from
    ``expect`` (e.g. ``split``, ``pde_type``, ``n_samples``, ``data_hash``, and the pseudo-attribute
    ``dtype`` for the variables' storage type). Values are checked by whoever reads them
    (``read_pair``, ``iter_chunks``).
    """
    path = Path(path)
    try:
        ds = xr.open_dataset(path, engine="netcdf4")
    except FileNotFoundError:
        raise DataFileError(f"{path}: file does not exist") from None
    except Exception as exc:  # netCDF4/HDF5 raise OSError, RuntimeError, ValueError, ...
        raise DataFileError(f"{path}: not a readable NetCDF file ({type(exc).__name__}: {exc})") from None
    try:
        _check_layout(path, ds, expect_res, expect)
    except BaseException:
        ds.close()
        raise
    return ds


def _check_layout(path: Path, ds: xr.Dataset, expect_res: int | None, expect: Mapping[str, Any] | None) -> None:
    for name in ("a", "u"):
        if name not in ds:
            raise DataFileError(
                f"{path}: variable {name!r} missing (found: {', '.join(map(str, ds.data_vars)) or 'none'})"
            )
    a, u = ds["a"], ds["u"]
    for name, var in (("a", a), ("u", u)):
        extra = [str(d) for d in var.dims if d not in ("sample", "t", *SPATIAL_DIMS)]
        if extra:
            raise DataFileError(f"{path}: variable {name!r} has unexpected dimensions {extra} "
                                "(allowed: sample, x, y, t)")
        if var.dtype not in (np.float32, np.float64):
            kind = f"compound ({', '.join(var.dtype.names)})" if var.dtype.names else str(var.dtype)
            raise DataFileError(f"{path}: variable {name!r} has dtype {kind} (allowed: float32, float64)")
    if "sample" not in a.dims or "sample" not in u.dims or a.sizes["sample"] != u.sizes["sample"]:
        raise DataFileError(f"{path}: 'a' and 'u' must share the dimension 'sample'")
    a_grid = [a.sizes[d] for d in SPATIAL_DIMS if d in a.dims]
    u_grid = [u.sizes[d] for d in SPATIAL_DIMS if d in u.dims]
    if not a_grid or a_grid != u_grid:
        raise DataFileError(f"{path}: grids of 'a' {a_grid} and 'u' {u_grid} do not match")
    if expect_res is not None and any(n != expect_res for n in a_grid):
        raise DataFileError(f"{path}: grid {a_grid} does not match the expected resolution {expect_res}")
    if a.sizes["sample"] == 0:
        raise DataFileError(f"{path}: holds 0 samples (allowed: at least 1)")
    for key, want in (expect or {}).items():
        got = str(a.dtype) if key == "dtype" else ds.attrs.get(key)
        if key == "n_samples" and got is not None and int(got) == int(want):
            got = a.sizes["sample"]  # the attribute agrees; the samples actually held must too
        if got is None or str(got) != str(want):
            raise DataFileError(f"{path}: attribute {key} is {got!r}, but this rule expects {want!r} "
                                "(a file of another split, PDE or config under this name: regenerate it)")


def check_finite(path: str | Path, name: str, arr: np.ndarray, first_sample: int = 0) -> None:
    """Raise ``DataFileError`` naming the first sample of ``arr`` holding NaN/inf."""
    if not np.isfinite(arr).all():
        bad = int(np.argmax(~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)))
        raise DataFileError(f"{path}: variable {name!r} has NaN/inf values (first in sample {first_sample + bad})")


def read_pair(path: str | Path, *, expect_res: int | None = None,
              expect: Mapping[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, xr.Dataset]:
    """Load ``(a, u, dataset)`` from an opbench file, refusing files that cannot be trusted.

    The checks of ``open_checked`` (layout, ``expect_res``, ``expect``), then NaN/inf values.
    """
    with open_checked(path, expect_res=expect_res, expect=expect) as handle:
        try:
            ds = handle.load()
        except Exception as exc:  # a file whose header reads but whose data does not
            raise DataFileError(f"{path}: not a readable NetCDF file ({type(exc).__name__}: {exc})") from None
    a_np, u_np = ds["a"].values, ds["u"].values
    for name, arr in (("a", a_np), ("u", u_np)):
        check_finite(path, name, arr)
    return a_np, u_np, ds


def sample_nbytes(ds: xr.Dataset, dtype: str = "float32") -> int:
    """Bytes one sample of ``a`` and ``u`` takes in memory as ``dtype``."""
    per = sum(int(np.prod([n for d, n in ds[v].sizes.items() if d != "sample"], dtype=np.int64)) for v in ("a", "u"))
    return per * np.dtype(dtype).itemsize


def iter_chunks(path: str | Path, *, expect_res: int | None = None, expect: Mapping[str, Any] | None = None,
                chunk_samples: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(start, a, u)`` for consecutive chunks of ``chunk_samples`` samples, each checked for NaN/inf."""
    with open_checked(path, expect_res=expect_res, expect=expect) as ds:
        n = ds.sizes["sample"]
        for start in range(0, n, max(1, chunk_samples)):
            part = ds.isel(sample=slice(start, start + chunk_samples))
            a, u = part["a"].values, part["u"].values
            check_finite(path, "a", a, start)
            check_finite(path, "u", u, start)
            yield start, a, u


def flatten_attrs(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """NetCDF attributes from a nested mapping: scalars kept, booleans as ints, the rest as text."""
    out: dict[str, Any] = {}
    # Sorted, so the order of keys in the config file does not change the bytes of the files.
    for key, value in sorted(values.items(), key=lambda kv: str(kv[0])):
        name = f"{prefix}_{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten_attrs(name, value))
        elif isinstance(value, bool):
            out[name] = int(value)
        elif isinstance(value, int | float | str | np.integer | np.floating):
            out[name] = value
        else:
            out[name] = str(value)
    return out
