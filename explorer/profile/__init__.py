"""The split-point profile of a zoo model: one row per split point from one trace.

table.py (`SplitProfile`, `profile_model`, `profile_zoo_model`), bits.py (`BitWidths`, what is
stored and sent), pruning.py (`HeadPruning`: what pruning each split's head does to every unit,
for the analytic workload), format.py (table, CSV and JSON output of `split-explorer profile`).
"""
