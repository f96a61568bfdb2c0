"""`split-explorer tabulate`: every candidate of a search study's grid retrained, as one table.

grid.py (the grid in its fixed order, candidate keys, the long subset and budget), table.py (the
CSV: its columns, reading and atomic rewriting), provenance.py (the JSON beside it, over calls),
run.py (the resumable runner), fidelity.py (rank fidelity of the short budget).
"""
