"""The split-point profile of a zoo model: one row per split point from one trace.

table.py (`SplitProfile`, `profile_model`, `profile_zoo_model`), bits.py (`BitWidths`, what is
stored and sent), format.py (table, CSV and JSON output of `split-explorer profile`).
"""
