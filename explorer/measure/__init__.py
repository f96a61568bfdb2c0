"""Measured latency: timing a zoo model's units, heads and tails (`standalone.py`, torch or
onnxruntime only) and the measured table in the profile's row layout (`table.py`)."""
