"""Deployable partitions: a trained trial's device and server programs and their config.

config.py (the config.json record), parts.py (the two halves), export.py (`export_trial`),
check.py (`check_config`), pick.py (`pick_trial`, choosing the trial by an expression).
"""
