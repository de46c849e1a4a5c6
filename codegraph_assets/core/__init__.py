"""Plain-Python domain code: source snapshots, IR, chunking, tokenizing, fusion. No Dagster imports."""
