"""`split-explorer search`: Optuna over the design space with retraining, and what reads its trials.

objectives.py (the one table of objectives), samplers.py (name -> Optuna sampler), storage.py and
study.py (the RDB storage and the study), space.py (the numeric grid and its analytic
pre-filter), distinct.py (a sampler wrapper: every trial a new allowed candidate), feasibility.py
(the analytic constraints), oracle.py (reading a tabular benchmark instead of retraining),
claims.py (one training per candidate), halving.py (successive halving: promoted rungs at
longer budgets), trial.py (one trial: price, prune or retrain), record.py (what a trial stores), run.py (`run_search`, workers),
trials.py (the trials as a table, the front), summary.py (search.json: the grid as searched, what
the readers take without the model), results.py (trials.csv, pareto.csv, figures), report.py (REPORT.md).
"""
