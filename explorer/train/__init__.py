"""`split-explorer train`: base models and listed candidates retrained, their measurements written
(run.py), and the report of a run's CSV files (report.py)."""
