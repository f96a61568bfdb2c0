"""Study files: parsed into frozen dataclasses (splitbase.schema) and resolved before anything runs.

common.py (reading, names, presets, data set, split points: what every study shares),
sweep.py (`resolve_sweep`), search.py (`read_search`: the file alone, no torch; `resolve_search`:
against the model too), train.py (`resolve_train_study`).
"""
