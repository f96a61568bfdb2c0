"""The one training loop shared by every recipe, its configuration, checkpoints and evaluation.

- config.py: `TrainConfig`, the frozen configuration (its fingerprint keys cached baselines);
- loop.py: `train(module, data, config, trainable=...)` -> `TrainResult`;
- plugins.py: what plugs into the loop (a loss function, step hooks);
- evaluate.py: `evaluate` / `evaluate_over_channel` for test accuracy;
- params.py, schedule.py, checkpoint.py: trainable parameters, optimiser and schedule, resume.

Import from the modules: this package file imports nothing, so that reading a configuration
(a study file) does not load the loop.
"""
