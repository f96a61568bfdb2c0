"""`split-explorer search`: Optuna over the design space with retraining, and what reads its trials.

objectives.py (the one table of objectives), samplers.py (name -> Optuna sampler), storage.py and
study.py (the RDB storage and the study), claims.py (one training per candidate), trial.py (one
trial: price, prune or retrain), record.py (what a trial stores), run.py (`run_search`, workers),
trials.py (the trials as a table, the front), results.py (trials.csv, pareto.csv, figures),
report.py (REPORT.md).
"""
