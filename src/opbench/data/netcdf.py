"""NetCDF files of opbench: CF-style layout, atomic writes, and checked reads.

Layout: data variables ``a`` (input function) and ``u`` (target), dimensions ``sample`` and the
spatial axes ``x`` (and ``y``), plus ``t`` for time-dependent targets. Files carry no timestamp so
that the same config produces the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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


def coordinate(name: str, values: np.ndarray, long_name: str, units: str = "1") -> xr.DataArray:
    """A CF-annotated coordinate variable."""
    attrs = {"long_name": long_name, "units": units}
    if name in ("x", "y"):
        attrs["axis"] = name.upper()
    if name == "t":
        attrs["axis"] = "T"
        attrs["standard_name"] = "time"
    return xr.DataArray(values, dims=(name,), attrs=attrs)


def read_pair(path: str | Path, *, expect_res: int | None = None,
              expect: Mapping[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, xr.Dataset]:
    """Load ``(a, u, dataset)`` from an opbench file, refusing files that cannot be trusted.

    Raises ``DataFileError`` (one line naming the file and the fault) for unreadable or truncated
    files, missing ``a``/``u``, dimensions other than sample/x/y/t, a dtype other than float32/64,
    no samples, NaN/inf values, grids that do not match ``expect_res``, or global attributes that
    differ from ``expect`` (e.g. ``split``, ``pde_type``, ``n_samples``, ``data_hash``, and the
    pseudo-attribute ``dtype`` for the variables' storage type).
    """
    path = Path(path)
    try:
        with xr.open_dataset(path, engine="netcdf4") as handle:
            ds = handle.load()
    except FileNotFoundError:
        raise DataFileError(f"{path}: file does not exist") from None
    except Exception as exc:  # netCDF4/HDF5 raise OSError, RuntimeError, ValueError, ...
        raise DataFileError(f"{path}: not a readable NetCDF file ({type(exc).__name__}: {exc})") from None
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
    a_np, u_np = a.values, u.values
    for name, arr in (("a", a_np), ("u", u_np)):
        if not np.isfinite(arr).all():
            bad = int(np.argmax(~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)))
            raise DataFileError(f"{path}: variable {name!r} has NaN/inf values (first in sample {bad})")
    return a_np, u_np, ds


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
