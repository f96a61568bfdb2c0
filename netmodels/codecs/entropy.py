"""Lossless entropy codecs of a quantised feature: Huffman, and run-length + Huffman (JPEG's last stage).

Both first quantise the feature to n bits (the same quantiser as "quant"); from there on they
are lossless: decode returns exactly the quantised feature. Paper 004 ("Lossless Encoding")
uses run-length coding of zeros combined with Huffman coding, the last part of the JPEG pipeline,
on sparse ReLU features.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from netmodels.codecs.base import Codec, EncodedFeature, Scale, as_feature, check_scale, header_range, sample_range
from netmodels.codecs.bitio import pack_fields, peek, stream
from netmodels.codecs.huffman import CanonicalDecoder, decode_chain, encode_symbols, read_table
from netmodels.codecs.quantize import check_bits, dequantize, quantize
from splitbase import ModelError

# The Huffman table stores code-length counts as uint16: 2^15 symbols at most.
MAX_ENTROPY_BITS = 15


class _QuantisedCodec(Codec):
    """Shared part: quantise to `bits` with a Scale, entropy-code the levels, and back."""

    def __init__(self, bits: int = 8, *, scale: Scale = "minmax") -> None:
        self.bits_per_element = check_bits(bits, high=MAX_ENTROPY_BITS)
        self.scale = check_scale(scale)

    def encode(self, x: Tensor) -> EncodedFeature:
        x = as_feature(x)
        lo, hi, header, header_bits = sample_range(x, self.scale)
        levels = quantize(x, self.bits_per_element, lo, hi).numpy().ravel()
        return EncodedFeature(self._code(levels), tuple(x.shape), header, header_bits)

    def decode(self, encoded: EncodedFeature) -> Tensor:
        count = int(np.prod(encoded.shape))
        levels = self._uncode(encoded.payload, count)
        lo, hi = header_range(encoded, self.scale)
        return dequantize(torch.from_numpy(levels), self.bits_per_element, lo, hi).reshape(encoded.shape)

    def _code(self, levels: np.ndarray) -> bytes:
        raise NotImplementedError

    def _uncode(self, payload: bytes, count: int) -> np.ndarray:
        raise NotImplementedError


class HuffmanCodec(_QuantisedCodec):
    """n-bit quantisation, then canonical Huffman coding of the levels (alphabet 2^n).

    payload = Huffman table (huffman.py: 1 + 2L + U bytes, U = levels used) + the code bits,
    zero-padded to a byte. Everything the decoder needs besides the range header is in it.
    """


    def _code(self, levels: np.ndarray) -> bytes:
        codes, lengths, table = encode_symbols(levels, 1 << self.bits_per_element)
        data, _ = pack_fields(codes, lengths)
        return table + data

    def _uncode(self, payload: bytes, count: int) -> np.ndarray:
        lengths, table_size = read_table(payload, 1 << self.bits_per_element)
        data = payload[table_size:]
        symbols, _ = decode_chain(stream(data), 8 * len(data), CanonicalDecoder(lengths), count)
        return symbols


class RleHuffmanCodec(_QuantisedCodec):
    """n-bit quantisation, run-length coding of zeros as JPEG codes AC coefficients, then Huffman.

    The levels (flattened C, H, W order) become events, as in JPEG (ITU T.81, F.1.2.2):
    (run, size) with run = zeros before a non-zero level v (0..15) and size = bit length of v,
    followed by size - 1 amplitude bits (v without its leading 1, since v > 0); ZRL = 16 zeros;
    EOB = "only zeros from here" (sent only when the feature ends with zeros). The (run, size)
    symbols (alphabet 16 * (n + 1)) are Huffman-coded.

    payload = Huffman table + event count (uint32 big-endian) + code and amplitude bits.
    """


    def _alphabet(self) -> int:
        return 16 * (self.bits_per_element + 1)

    def _symbol(self, run: np.ndarray | int, size: np.ndarray | int) -> np.ndarray | int:
        return run * (self.bits_per_element + 1) + size

    def _code(self, levels: np.ndarray) -> bytes:
        levels = levels.astype(np.int64)
        nz = np.flatnonzero(levels)
        values = levels[nz]
        runs = np.diff(nz, prepend=-1) - 1  # zeros before each non-zero level
        zrl = runs // 16
        size = np.zeros(values.size, dtype=np.int64)
        for b in range(self.bits_per_element):  # bit length, one pass per bit of the level
            size += (values >> b) > 0
        # Each non-zero level is preceded by zrl ZRL events: lay out all events in one array.
        per = zrl + 1
        owner = np.repeat(np.arange(values.size), per)
        last = np.cumsum(per) - 1  # the (run, size) event of each level
        symbols = np.full(owner.size, self._symbol(15, 0), dtype=np.int64)
        symbols[last] = self._symbol(runs % 16, size)
        extra_width = np.zeros(owner.size, dtype=np.int64)
        extra_width[last] = size - 1
        extra = np.zeros(owner.size, dtype=np.int64)
        extra[last] = values - (1 << (size - 1))
        if nz.size == 0 or nz[-1] != levels.size - 1:
            symbols = np.append(symbols, self._symbol(0, 0))
            extra_width = np.append(extra_width, 0)
            extra = np.append(extra, 0)
        codes, lengths, table = encode_symbols(symbols, self._alphabet())
        fields = np.stack([codes, extra.astype(np.uint64)], axis=1).ravel()  # code, then amplitude
        widths = np.stack([lengths, extra_width], axis=1).ravel()
        data, _ = pack_fields(fields, widths)
        return table + int(symbols.size).to_bytes(4, "big") + data

    def _uncode(self, payload: bytes, count: int) -> np.ndarray:
        n = self.bits_per_element
        lengths, table_size = read_table(payload, self._alphabet())
        if len(payload) < table_size + 4:
            raise ModelError("corrupt payload: no event count after the Huffman table")
        events = int.from_bytes(payload[table_size : table_size + 4], "big")
        data = payload[table_size + 4 :]
        sizes_of = np.arange(self._alphabet()) % (n + 1)
        extra_of = np.maximum(sizes_of - 1, 0)
        buf = stream(data)
        symbols, after_code = decode_chain(buf, 8 * len(data), CanonicalDecoder(lengths), events, extra_of)
        run, size = symbols // (n + 1), symbols % (n + 1)
        amplitude = peek(buf, after_code, extra_of[symbols]).astype(np.int64)
        eob = (run == 0) & (size == 0)
        if eob[:-1].any() or ((size == 0) & ~eob & (run != 15)).any():
            raise ModelError("corrupt payload: an EOB before the end or an unknown run-length symbol")
        advance = np.where(size > 0, run + 1, np.where(eob, 0, 16))  # elements each event covers
        position = np.cumsum(advance) - 1  # index of the level a (run, size) event writes
        levels = np.zeros(count, dtype=np.int64)
        write = size > 0
        if advance.sum() > count:
            raise ModelError(f"corrupt payload: the run-length events cover more than {count} elements")
        levels[position[write]] = (1 << (size[write] - 1)) + amplitude[write]
        return levels
