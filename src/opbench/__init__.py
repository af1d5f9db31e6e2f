"""opbench: solvers -> NetCDF -> neural operators and Transformers -> an honest report."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("opbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
