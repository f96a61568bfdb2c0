"""Canonical Huffman coding of integer symbol streams (numpy + heapq).

Code lengths come from the classic Huffman merge (heapq); codes are made canonical (sorted by
(length, symbol)) so the table is fully described, as in JPEG's DHT segment, by the number of
codes of each length and the symbols in code order. That table travels inside the payload:

    table = [L: 1 byte] [count of codes of length 1..L: L x uint16 big-endian]
            [symbols in canonical order: 1 byte each if the alphabet has <= 256 symbols, else 2]

so its size (1 + 2L + U or 2U bytes, U = symbols used) is counted in the codec's bits.
"""
from __future__ import annotations

import heapq

import numpy as np

from netmodels.codecs.bitio import MAX_PEEK_BITS, peek, walk
from splitbase import ModelError


def code_lengths(freqs: np.ndarray) -> np.ndarray:
    """Huffman code length (bits) of every symbol of the alphabet; 0 for unused symbols.

    A single used symbol gets length 1 (a code must have at least one bit).
    """
    freqs = np.asarray(freqs, dtype=np.int64)
    used = np.flatnonzero(freqs)
    lengths = np.zeros(freqs.size, dtype=np.int64)
    if used.size == 1:
        lengths[used] = 1
    if used.size <= 1:
        return lengths
    # Nodes 0..U-1 are leaves, later ones internal; ties break on node id, so results are stable.
    heap = [(int(f), i) for i, f in enumerate(freqs[used])]
    heapq.heapify(heap)
    parent = np.zeros(2 * used.size - 1, dtype=np.int64)
    node = used.size
    while len(heap) > 1:
        fa, a = heapq.heappop(heap)
        fb, b = heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (fa + fb, node))
        node += 1
    depth = np.zeros(node, dtype=np.int64)
    for n in range(node - 2, -1, -1):  # parents are created after their children
        depth[n] = depth[parent[n]] + 1
    lengths[used] = depth[: used.size]
    return lengths


def canonical(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols in canonical order, their lengths, their codes) for the given code lengths."""
    lengths = np.asarray(lengths, dtype=np.int64)
    symbols = np.flatnonzero(lengths)
    order = np.lexsort((symbols, lengths[symbols]))
    symbols = symbols[order]
    lens = lengths[symbols]
    counts = np.bincount(lens, minlength=int(lens.max(initial=0)) + 1)
    first = _first_codes(counts)
    group_start = np.cumsum(counts) - counts  # index in `symbols` of each length's first code
    codes = first[lens] + (np.arange(symbols.size) - group_start[lens])
    return symbols, lens, codes.astype(np.uint64)


def _first_codes(counts: np.ndarray) -> np.ndarray:
    """first[l] = the canonical code of the first symbol of length l (counts[0] is ignored)."""
    first = np.zeros(counts.size, dtype=np.int64)
    for length in range(2, counts.size):  # one step per code length, not per symbol
        first[length] = (first[length - 1] + counts[length - 1]) << 1
    return first


def _symbol_bytes(alphabet: int) -> int:
    return 1 if alphabet <= 256 else 2


def write_table(lengths: np.ndarray, alphabet: int) -> bytes:
    """The table bytes (format in the module docstring) for the given code lengths."""
    symbols, lens, _ = canonical(lengths)
    max_len = int(lens.max(initial=0))
    if max_len > min(255, MAX_PEEK_BITS):
        raise ModelError(f"Huffman code of {max_len} bits is too long to decode")
    counts = np.bincount(lens, minlength=max_len + 1)[1:]
    dtype = ">u1" if _symbol_bytes(alphabet) == 1 else ">u2"
    return bytes([max_len]) + counts.astype(">u2").tobytes() + symbols.astype(dtype).tobytes()


def read_table(payload: bytes, alphabet: int) -> tuple[np.ndarray, int]:
    """(code length of every symbol of the alphabet, table size in bytes) from a payload's start."""
    if not payload:
        raise ModelError("corrupt payload: no Huffman table")
    max_len = payload[0]
    end_counts = 1 + 2 * max_len
    counts = np.frombuffer(payload[1:end_counts], dtype=">u2").astype(np.int64)
    width = _symbol_bytes(alphabet)
    end = end_counts + width * int(counts.sum())
    if counts.size != max_len or len(payload) < end:
        raise ModelError("corrupt payload: Huffman table is truncated")
    symbols = np.frombuffer(payload[end_counts:end], dtype=">u1" if width == 1 else ">u2").astype(np.int64)
    if symbols.size and symbols.max() >= alphabet:
        raise ModelError(f"corrupt payload: Huffman symbol {symbols.max()} outside 0..{alphabet - 1}")
    lengths = np.zeros(alphabet, dtype=np.int64)
    lengths[symbols] = np.repeat(np.arange(1, max_len + 1), counts)
    return lengths, end


def encode_symbols(symbols: np.ndarray, alphabet: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Fit a Huffman code to `symbols`; return (code of each symbol, its length, table bytes)."""
    symbols = np.asarray(symbols, dtype=np.int64).ravel()
    lengths = code_lengths(np.bincount(symbols, minlength=alphabet))
    order, lens, codes = canonical(lengths)
    code_of = np.zeros(alphabet, dtype=np.uint64)
    code_of[order] = codes
    return code_of[symbols], lengths[symbols], write_table(lengths, alphabet)


class CanonicalDecoder:
    """Decodes canonical Huffman codes at many bit positions at once, without a 2^L lookup table.

    With the L-bit window v read at a position, the code length is the smallest l with
    v < limit[l], limit[l] = (first[l] + count[l]) << (L - l); canonical codes make limit
    non-decreasing, so np.searchsorted finds l for every position in one call.
    """

    def __init__(self, lengths: np.ndarray) -> None:
        self.symbols, lens, _ = canonical(lengths)
        self.max_len = int(lens.max(initial=0))
        if self.max_len == 0:
            raise ModelError("corrupt payload: empty Huffman table")
        counts = np.bincount(lens, minlength=self.max_len + 1)
        self.first = _first_codes(counts)
        self.offset = np.cumsum(counts) - counts
        ls = np.arange(1, self.max_len + 1)
        self.limit = ((self.first[ls] + counts[ls]) << (self.max_len - ls)).astype(np.uint64)

    def at(self, buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(symbol, code length) of the code word starting at each position; -1, 1 where none does."""
        window = peek(buf, pos, self.max_len)
        idx = np.searchsorted(self.limit, window, side="right")
        valid = idx < self.max_len
        length = np.where(valid, idx + 1, 1)
        code = (window >> (self.max_len - length).astype(np.uint64)).astype(np.int64)
        rank = self.offset[length] + code - self.first[length]
        ok = valid & (rank >= 0) & (rank < self.symbols.size)
        symbol = np.where(ok, self.symbols[np.clip(rank, 0, self.symbols.size - 1)], -1)
        return symbol, length


def decode_chain(
    buf: np.ndarray, nbits: int, decoder: CanonicalDecoder, count: int, extra_width: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode `count` code words from bit 0 of `buf` (valid bits: `nbits`).

    Each code word may be followed by extra raw bits, extra_width[symbol] of them (JPEG's
    amplitude bits). Returns (symbols, bit position just after each code word). Every bit
    position is decoded once, vectorised, and the chain of real code-word starts is then
    followed with `walk`.
    """
    positions = np.arange(nbits + 1, dtype=np.int64)
    symbol, length = decoder.at(buf, positions)
    step = length + (extra_width[np.maximum(symbol, 0)] if extra_width is not None else 0)
    next_pos = np.minimum(positions + step, nbits)  # nbits is a fixed point: a chain that runs off ends there
    starts = walk(next_pos, count)
    symbols = symbol[starts]
    ends = starts + step[starts]
    if (symbols < 0).any() or (starts >= nbits).any() or (ends > nbits).any():
        raise ModelError("corrupt payload: the Huffman-coded stream ends early or holds an invalid code")
    return symbols, starts + length[starts]
