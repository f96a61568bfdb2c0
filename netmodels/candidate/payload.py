"""Measuring a candidate's payload with its codec's real output (data-dependent sizes: JPEG, Huffman)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from netmodels.candidate import Candidate
from netmodels.candidate.profile import CandidateProfile
from netmodels.codecs import build_codec
from netmodels.data import ImageDataset, eval_batches
from netmodels.modules import eval_mode, module_device
from splitbase import ModelError


def measure_payload(candidate: Candidate, data: ImageDataset, *, max_samples: int = 256,
                    batch_size: int = 256) -> CandidateProfile:
    """The profile with payload_bits replaced by the mean real codec size over the first
    `max_samples` test images (for a codec of data-dependent size, e.g. BottleNet's JPEG), and
    the compression ratio recomputed; the profile unchanged when the payload is exact.
    """
    profile = candidate.profile
    if profile.codec is None:
        return profile
    codec = build_codec(profile.codec, **candidate.parts.codec_options)
    module = candidate.module
    bits: list[np.ndarray] = []
    with eval_mode(module):
        for x, _ in eval_batches(data, batch_size=batch_size, device=module_device(module)):
            bits.append(codec.batch_bits(module.sent(x).float().cpu()))
            if sum(len(b) for b in bits) >= max_samples:
                break
    measured = np.concatenate(bits)[:max_samples] if bits else np.zeros(0)
    if measured.size == 0:
        raise ModelError(f"{data.name}: no test images to measure the {profile.codec} payload on")
    payload = float(measured.mean())
    return replace(profile, payload_bits=payload, compression_ratio=profile.raw_feature_bits / payload,
                   payload_measured=True)
