"""Ingest: reports in, rows out to the stores, in batches."""
