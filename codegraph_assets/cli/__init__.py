"""The `codegraph` command line."""
