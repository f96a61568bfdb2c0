"""Layers the methods share: conv bottlenecks and min/max scaling (layers.py), BottleFit's
bottleneck injection (inject.py), and the JPEG round trip inside the training graph (jpeg_proxy.py)."""
