"""What travels between the deployed halves: the wire record of config.json, in full.

The runner (explorer/deploy/runner/split_runner.py, numpy only) codes and decodes the sent
tensor exactly as this record says, byte for byte as the netmodels codec of the same name
(tests/explorer/deploy/test_runner.py holds them to it):

- a codec (trials of BottleNet, two-step, edge-host): its name and every parameter resolved
  (bits, scale: "minmax" sends the sample's float32 min and max, "max" only the max, [lo, hi] is
  fixed; JPEG quality, whether Pillow optimises its Huffman tables, else the standard tables,
  and whether the payload is the whole JPEG file or only its entropy-coded scan (`headers`);
  for "png" the zlib `compress_level` (0..9) of the lossless PNG file of the same tiled 8-bit
  grey image, its min and max sent as for JPEG;
  for "huffman"/"rle-huffman" a canonical Huffman code fitted per sample, its table inside the
  payload: 1 + 2L + U bytes);
- a digital channel (bec, bsc with `bits`): the channel's n-bit quantiser over the fixed range
  [0, 1], i.e. codec "quant" at scale [0, 1], bit-packed MSB first; the erasures or flips are
  the channel's, simulated by `check`, not sent;
- the ideal channel or an analog one (awgn): the raw float32 values ("none"), the noise again
  simulated by `check` only.

Per-sample side information (lo, span) of an encoder travels as two float32 header values.
"""
from __future__ import annotations

from typing import Any

from explorer.deploy.config import CodecRecord
from explorer.deploy.runner.split_runner import CODECS as RUNNER_CODECS
from netmodels.channels import ChannelSpec
from netmodels.codecs import build_codec
from netmodels.codecs.base import Codec
from splitbase import ModelError, StudyError

TILED_RANGE = "minmax, float32 lo and hi sent"
TILING = "channels tiled row-major into a near-square grid of ceil(sqrt(C)) columns"
HUFFMAN_TABLE = ("canonical Huffman code fitted to each sample's symbols; its table travels first in the "
                 "payload: [max length L: u8] [codes per length 1..L: u16 BE] [symbols in code order]")


def _codec_parameters(codec: Codec, name: str) -> dict[str, Any]:
    if name == "jpeg":
        return {"quality": codec.quality, "optimize": codec.optimize, "headers": codec.headers,
                "range": TILED_RANGE, "tiling": TILING}
    if name == "png":
        return {"compress_level": codec.compress_level, "range": TILED_RANGE, "tiling": TILING}
    if name in ("quant", "huffman", "rle-huffman"):
        scale = codec.scale if isinstance(codec.scale, str) else list(codec.scale)
        record: dict[str, Any] = {"bits": codec.bits_per_element, "scale": scale}
        if name != "quant":
            record["huffman_table"] = HUFFMAN_TABLE
        return record
    if name == "none":
        return {}
    raise StudyError(f"codec {name!r}: the deployed runner codes {', '.join(RUNNER_CODECS)} features, "
                     "not this one")


def wire_record(codec: CodecRecord | None, channel: ChannelSpec, shape: list[int]) -> dict[str, Any]:
    """The wire record (module docstring) of a link: a codec record or, without one, the channel."""
    if codec is not None:
        try:
            built = build_codec(codec.name, **codec.options)
        except ModelError as exc:
            raise StudyError(f"codec: {exc}") from None
        return {"codec": codec.name, "shape": list(shape), **_codec_parameters(built, codec.name)}
    layer = channel.build()
    if layer.unit == "bit" and channel.kind != "none":
        return {"codec": "quant", "shape": list(shape), "bits": layer.bits, "scale": [0.0, 1.0]}
    return {"codec": "none", "shape": list(shape)}
