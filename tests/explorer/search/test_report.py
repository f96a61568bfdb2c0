"""What a search report says about repeating its numbers."""
import pandas as pd

from explorer.search.report import _reproducibility


def test_the_report_says_whether_a_cuda_retraining_repeats():
    cpu = pd.DataFrame({"gpu_name": [None, None]})
    cuda = pd.DataFrame({"gpu_name": ["NVIDIA H200", None]})
    assert "CPU" in " ".join(_reproducibility(cpu, True))
    assert "bit for bit" in " ".join(_reproducibility(cuda, True))
    autotuned = " ".join(_reproducibility(cuda, False))
    assert "deterministic: false" in autotuned and "not bit-reproducible" in autotuned
