"""The cost evaluator: design points and built candidates priced on hardware, as numpy arrays.

- codecs.py: the codec a design point uses, priced by its CODECS entry;
- points.py: `DesignPoints`, flat arrays of split, sparsity and codec;
- workload.py: what every point asks of device, link and server (the analytic workload model);
- price.py: latency, throughput, energy and feasibility of workloads (`price`, `evaluate`);
- candidate.py: a built candidate's workload from its traced profile (`price_candidate`);
- hardware.py: `Hardware`, one device / link / server combination.
"""
