"""Data stage: parallel generation of solver data and its NetCDF files (xarray, netcdf4 engine)."""
