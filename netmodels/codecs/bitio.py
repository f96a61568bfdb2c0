"""Vectorised bit packing and reading (numpy), MSB first, as JPEG writes its entropy-coded data.

Every codec that writes a bit stream goes through `pack_fields` (no Python loop per symbol: the
stream is built as one array of bits and handed to np.packbits) and reads it back with `peek`.
"""
from __future__ import annotations

import numpy as np

from splitbase import ModelError

# `peek` reads 8 bytes starting at a field's first byte; up to 7 leading bits belong to the
# previous field, so at most 64 - 7 bits can be read in one go.
MAX_PEEK_BITS = 57


def pack_fields(values: np.ndarray, widths: np.ndarray) -> tuple[bytes, int]:
    """Concatenate fields, field i being the low widths[i] bits of values[i], MSB first.

    Returns (bytes, number of valid bits); the last byte is zero-padded. Zero-width fields are
    allowed (they write nothing), which lets a caller interleave optional fields.
    """
    values = np.asarray(values, dtype=np.uint64).ravel()
    widths = np.asarray(widths, dtype=np.int64).ravel()
    if values.shape != widths.shape:
        raise ValueError("values and widths differ in length")
    if widths.size and (widths.min() < 0 or widths.max() > 64):
        raise ValueError("field widths must be in 0..64")
    total = int(widths.sum())
    if total == 0:
        return b"", 0
    owner = np.repeat(np.arange(values.size), widths)  # field of each output bit
    start = np.cumsum(widths) - widths
    offset = np.arange(total, dtype=np.int64) - start[owner]  # 0 = the field's MSB
    shift = (widths[owner] - 1 - offset).astype(np.uint64)
    bits = (values[owner] >> shift) & np.uint64(1)
    return np.packbits(bits.astype(np.uint8)).tobytes(), total


def pack_fixed(values: np.ndarray, width: int) -> bytes:
    """Pack unsigned integers of one width (1..64 bits) back to back, MSB first."""
    values = np.asarray(values, dtype=np.uint64).ravel()
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
    bits = (values[:, None] >> shifts) & np.uint64(1)
    return np.packbits(bits.astype(np.uint8).ravel()).tobytes()


def unpack_fixed(payload: bytes, width: int, count: int) -> np.ndarray:
    """Inverse of `pack_fixed`: `count` unsigned integers of `width` bits, as uint64."""
    need = -(-count * width // 8)
    if len(payload) != need:
        raise ModelError(f"corrupt payload: {len(payload)} bytes, expected {need} for {count} x {width} bits")
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))[: count * width]
    weights = np.uint64(1) << np.arange(width - 1, -1, -1, dtype=np.uint64)
    return (bits.reshape(count, width).astype(np.uint64) * weights).sum(axis=1, dtype=np.uint64)


def stream(payload: bytes) -> np.ndarray:
    """The payload as uint8 with 8 zero bytes appended, ready for `peek` at any valid position."""
    return np.concatenate([np.frombuffer(payload, dtype=np.uint8), np.zeros(8, dtype=np.uint8)])


def peek(buf: np.ndarray, pos: np.ndarray, width: int | np.ndarray) -> np.ndarray:
    """The `width` bits starting at bit position(s) `pos` of `buf` (from `stream`), as uint64.

    `width` is one int or one per position, 0..57; bits past the end read as zeros.
    """
    pos = np.asarray(pos, dtype=np.int64)
    width = np.asarray(width, dtype=np.int64)
    if width.size and width.max() > MAX_PEEK_BITS:
        raise ModelError(f"corrupt payload: a field of {width.max()} bits (at most {MAX_PEEK_BITS})")
    byte = np.minimum(pos >> 3, buf.size - 8)
    window = buf[byte[..., None] + np.arange(8)]  # 8 bytes from the field's first byte
    word = np.ascontiguousarray(window).view(">u8")[..., 0].astype(np.uint64)
    word = word << (pos & 7).astype(np.uint64)  # drop the bits before the field
    # A shift by 64 is undefined in numpy; width 0 reads as 0 through the `where`.
    shifted = word >> np.minimum(64 - width, 63).astype(np.uint64)
    return np.where(width > 0, shifted, np.uint64(0)).astype(np.uint64)


def walk(next_pos: np.ndarray, count: int) -> np.ndarray:
    """Positions 0, f(0), f(f(0)), ... (`count` of them) of the map f given as an array.

    Decoding a variable-length code is a chain: where a code word starts decides where the next
    one starts. Given f for every bit position, the chain is found by pointer doubling
    (log2(count) numpy passes) instead of a Python loop over the symbols.
    """
    pos = np.zeros(count, dtype=np.int64)
    k = np.arange(count, dtype=np.int64)
    jump = np.asarray(next_pos, dtype=np.int64)
    b = 0
    while (1 << b) < count:
        sel = ((k >> b) & 1).astype(bool)
        pos[sel] = jump[pos[sel]]
        b += 1
        if (1 << b) < count:
            jump = jump[jump]
    return pos
