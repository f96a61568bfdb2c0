"""`split-explorer sweep` and `calibrate`: a grid priced analytically, set beside a paper's numbers.

run.py (`run_sweep`, scenarios, best splits, `compare`), results.py (CSVs, figures, REPORT.md),
calibrate.py (fitting unknown preset parameters to the paper's ratios).
"""
