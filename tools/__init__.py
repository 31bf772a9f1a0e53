"""Scripts that regenerate data/ (run all with `make data`)."""
