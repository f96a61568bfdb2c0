"""Device calibration (issue 12): a study file of `kind: device-calibration` (`study.py`), the
per-layer-class latency model fitted to measured tables (`fit.py`), the calibrated preset file
(`preset.py`), predicted-vs-measured metrics and the report (`report.py`)."""
