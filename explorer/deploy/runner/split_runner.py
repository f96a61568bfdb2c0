"""split_runner.py: run an exported split model's two halves over TCP, with numpy and onnxruntime only.

Copied verbatim into every export folder by split-explorer (it imports nothing of split-explorer
and no torch: numpy, onnxruntime, the standard library, and Pillow when the link is JPEG or PNG):

    python split_runner.py server --listen 5000
    python split_runner.py device --connect 127.0.0.1:5000 --images test.npz [--link-rate 2]

The export folder (where this file lies, or --export DIR) holds config.json, device.onnx and
server.onnx, or a lookup table: table.json and one such folder per entry, the entry chosen by the
link rate (--link-rate in Mbit/s, else measured on the socket).

config.json says everything this runner does: the preprocessing (uint8 image -> centred zero
padding to the model input -> / 255 -> (x - mean) / std, float32 NCHW), the ONNX parts' inputs and
outputs, and the wire format (`wire`: which codec codes the sent tensor, with its parameters).

Framing (network byte order), both ways: a 16-byte header

    magic b"SPLT" | version u8 | kind u8 | n_floats u16 | frame id u32 | payload length u32

then n_floats float32 side values (codec range, per-sample lo/span), then the payload bytes.
Kinds: HELLO (payload: the table entry to use), DATA (one coded frame), PROBE (bytes to time the
link), RESULT and ERROR (server -> device, payload JSON). The server refuses a bad frame with an
ERROR reply and a message on its console, and keeps serving.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"SPLT"
VERSION = 1
HEADER = struct.Struct("!4sBBHII")
HELLO, DATA, PROBE, RESULT, ERROR = range(5)
MAX_PAYLOAD = 64 << 20
CODECS = ("none", "quant", "huffman", "rle-huffman", "jpeg", "png")


class FrameError(Exception):
    """A frame this runner refuses (bad header, wrong length, undecodable payload)."""


# ------------------------------------------------------------------ n-bit quantiser and bit packing

def _f32(value) -> np.float32:
    return np.float32(value)


def _span(lo: np.float32, hi: np.float32) -> np.float32:
    return hi - lo if hi > lo else np.float32(1.0)


def quantize(x: np.ndarray, bits: int, lo, hi) -> np.ndarray:
    """round((clamp(x, lo, hi) - lo) / (hi - lo) * (2^bits - 1)) as int64, in float32 arithmetic."""
    lo, hi = _f32(lo), _f32(hi)
    unit = (np.minimum(np.maximum(x.astype(np.float32), lo), hi) - lo) / _span(lo, hi)
    return np.round(unit * np.float32((1 << bits) - 1)).astype(np.int64)


def dequantize(levels: np.ndarray, bits: int, lo, hi) -> np.ndarray:
    """lo + levels / (2^bits - 1) * (hi - lo), float32: the inverse map of `quantize`."""
    lo, hi = _f32(lo), _f32(hi)
    return lo + levels.astype(np.float32) / np.float32((1 << bits) - 1) * _span(lo, hi)


def sample_range(x: np.ndarray, scale) -> tuple[np.float32, np.float32, list[float]]:
    """(lo, hi, header floats sent) under a scale: "minmax" sends lo and hi, "max" hi, [lo, hi] nothing."""
    if scale == "minmax":
        lo, hi = _f32(x.min()), _f32(x.max())
        return lo, hi, [float(lo), float(hi)]
    if scale == "max":
        hi = _f32(x.max())
        return np.float32(0.0), hi, [float(hi)]
    return _f32(scale[0]), _f32(scale[1]), []


def header_range(scale, floats: list[float]) -> tuple[np.float32, np.float32]:
    if scale == "minmax":
        return _f32(floats[0]), _f32(floats[1])
    if scale == "max":
        return np.float32(0.0), _f32(floats[0])
    return _f32(scale[0]), _f32(scale[1])


def header_count(scale) -> int:
    return {"minmax": 2, "max": 1}.get(scale, 0) if isinstance(scale, str) else 0


def pack_fields(values, widths) -> bytes:
    """Fields of widths[i] bits (the low bits of values[i]) back to back, MSB first, zero-padded."""
    values = np.asarray(values, dtype=np.uint64).ravel()
    widths = np.asarray(widths, dtype=np.int64).ravel()
    if widths.sum() == 0:
        return b""
    owner = np.repeat(np.arange(values.size), widths)
    offset = np.arange(int(widths.sum())) - (np.cumsum(widths) - widths)[owner]
    bits = (values[owner] >> (widths[owner] - 1 - offset).astype(np.uint64)) & np.uint64(1)
    return np.packbits(bits.astype(np.uint8)).tobytes()


def unpack_fixed(payload: bytes, width: int, count: int) -> np.ndarray:
    need = -(-count * width // 8)
    if len(payload) != need:
        raise FrameError(f"payload of {len(payload)} bytes, expected {need} for {count} x {width} bits")
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))[: count * width].reshape(count, width)
    return (bits.astype(np.int64) << np.arange(width - 1, -1, -1)).sum(axis=1)


# ------------------------------------------------------------------ canonical Huffman

def code_lengths(freqs: np.ndarray) -> np.ndarray:
    """Huffman code length of every symbol (0 unused; 1 for a lone symbol); ties break on node id."""
    import heapq
    used = np.flatnonzero(freqs)
    lengths = np.zeros(freqs.size, dtype=np.int64)
    if used.size == 1:
        lengths[used] = 1
    if used.size <= 1:
        return lengths
    heap = [(int(f), i) for i, f in enumerate(freqs[used])]
    heapq.heapify(heap)
    parent = [0] * (2 * used.size - 1)
    node = used.size
    while len(heap) > 1:
        (fa, a), (fb, b) = heapq.heappop(heap), heapq.heappop(heap)
        parent[a] = parent[b] = node
        heapq.heappush(heap, (fa + fb, node))
        node += 1
    depth = [0] * node
    for n in range(node - 2, -1, -1):
        depth[n] = depth[parent[n]] + 1
    lengths[used] = depth[: used.size]
    return lengths


def canonical(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols in canonical order (by length, then symbol), their lengths, their codes)."""
    symbols = np.flatnonzero(lengths)
    symbols = symbols[np.lexsort((symbols, lengths[symbols]))]
    lens = lengths[symbols]
    codes, code, previous = np.zeros(symbols.size, dtype=np.int64), 0, int(lens[0]) if lens.size else 0
    for i, length in enumerate(lens):
        code <<= int(length) - previous
        codes[i], code, previous = code, code + 1, int(length)
    return symbols, lens, codes


def write_table(lengths: np.ndarray, alphabet: int) -> bytes:
    """[L: u8] [codes of each length 1..L: u16 BE] [symbols in canonical order: u8, or u16 BE if > 256]."""
    symbols, lens, _ = canonical(lengths)
    max_len = int(lens.max(initial=0))
    counts = np.bincount(lens, minlength=max_len + 1)[1:]
    return bytes([max_len]) + counts.astype(">u2").tobytes() + symbols.astype(">u1" if alphabet <= 256 else ">u2").tobytes()


def read_table(payload: bytes, alphabet: int) -> tuple[dict[tuple[int, int], int], int]:
    """({(length, code): symbol}, table size in bytes) from the payload's start."""
    if not payload:
        raise FrameError("no Huffman table")
    max_len, width = payload[0], 1 if alphabet <= 256 else 2
    counts = np.frombuffer(payload[1 : 1 + 2 * max_len], dtype=">u2").astype(np.int64)
    end = 1 + 2 * max_len + width * int(counts.sum())
    if counts.size != max_len or len(payload) < end:
        raise FrameError("Huffman table is truncated")
    symbols = np.frombuffer(payload[1 + 2 * max_len : end], dtype=">u1" if width == 1 else ">u2").astype(np.int64)
    if symbols.size == 0 or symbols.max() >= alphabet:
        raise FrameError("Huffman table is empty or names a symbol outside the alphabet")
    lengths = np.zeros(alphabet, dtype=np.int64)
    lengths[symbols] = np.repeat(np.arange(1, max_len + 1), counts)
    ordered, lens, codes = canonical(lengths)
    return {(int(n), int(c)): int(s) for s, n, c in zip(ordered, lens, codes)}, end


def huffman_code(symbols: np.ndarray, alphabet: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """(code of each symbol, its length, the table bytes) of a Huffman code fitted to `symbols`."""
    lengths = code_lengths(np.bincount(symbols, minlength=alphabet))
    order, lens, codes = canonical(lengths)
    code_of = np.zeros(alphabet, dtype=np.int64)
    code_of[order] = codes
    return code_of[symbols], lengths[symbols], write_table(lengths, alphabet)


class BitReader:
    def __init__(self, data: bytes) -> None:
        self.bits, self.pos = np.unpackbits(np.frombuffer(data, dtype=np.uint8)).tolist(), 0

    def read(self, width: int) -> int:
        if self.pos + width > len(self.bits):
            raise FrameError("the coded stream ends early")
        value = 0
        for bit in self.bits[self.pos : self.pos + width]:
            value = (value << 1) | bit
        self.pos += width
        return value

    def symbol(self, table: dict[tuple[int, int], int], max_len: int) -> int:
        code = 0
        for length in range(1, max_len + 1):
            code = (code << 1) | self.read(1)
            if (length, code) in table:
                return table[(length, code)]
        raise FrameError("an invalid Huffman code")


def huffman_encode(levels: np.ndarray, bits: int) -> bytes:
    codes, lengths, table = huffman_code(levels, 1 << bits)
    return table + pack_fields(codes, lengths)


def huffman_decode(payload: bytes, bits: int, count: int) -> np.ndarray:
    table, size = read_table(payload, 1 << bits)
    reader, max_len = BitReader(payload[size:]), max(n for n, _ in table)
    return np.array([reader.symbol(table, max_len) for _ in range(count)], dtype=np.int64)


def rle_encode(levels: np.ndarray, bits: int) -> bytes:
    """JPEG-style events: (run of zeros 0..15, bit size of the level) + size - 1 amplitude bits,
    ZRL (15, 0) for 16 zeros, EOB (0, 0) when the feature ends with zeros; symbol = run * (bits + 1) + size."""
    symbols, widths, extras, run = [], [], [], 0
    for value in levels.tolist():
        if value == 0:
            run += 1
            continue
        while run >= 16:
            symbols.append(15 * (bits + 1)), widths.append(0), extras.append(0)
            run -= 16
        size = int(value).bit_length()
        symbols.append(run * (bits + 1) + size), widths.append(size - 1), extras.append(value - (1 << (size - 1)))
        run = 0
    if levels.size == 0 or levels[-1] == 0:
        symbols.append(0), widths.append(0), extras.append(0)
    symbols_a = np.array(symbols, dtype=np.int64)
    codes, lengths, table = huffman_code(symbols_a, 16 * (bits + 1))
    fields = np.stack([codes, np.array(extras, dtype=np.int64)], axis=1).ravel()
    field_widths = np.stack([lengths, np.array(widths, dtype=np.int64)], axis=1).ravel()
    return table + len(symbols).to_bytes(4, "big") + pack_fields(fields, field_widths)


def rle_decode(payload: bytes, bits: int, count: int) -> np.ndarray:
    table, size = read_table(payload, 16 * (bits + 1))
    if len(payload) < size + 4:
        raise FrameError("no event count after the Huffman table")
    events = int.from_bytes(payload[size : size + 4], "big")
    reader, max_len = BitReader(payload[size + 4 :]), max(n for n, _ in table)
    levels, at = np.zeros(count, dtype=np.int64), 0
    for i in range(events):
        run, width = divmod(reader.symbol(table, max_len), bits + 1)
        if width == 0 and run == 0:
            if i != events - 1:
                raise FrameError("an EOB before the end")
            break
        at += 16 if width == 0 else run
        if width and at >= count:
            raise FrameError(f"the run-length events cover more than {count} elements")
        if width:
            levels[at] = (1 << (width - 1)) + reader.read(width - 1)
            at += 1
    return levels


# ------------------------------------------------------------------ JPEG and PNG of a tiled feature (Pillow)

def _grid(channels: int) -> tuple[int, int]:
    cols = math.ceil(math.sqrt(channels))
    return math.ceil(channels / cols), cols


def _chw(shape) -> tuple[int, int, int]:
    return tuple((1,) * (3 - len(shape)) + tuple(shape))  # type: ignore[return-value]


def tile_levels(x: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """A feature -> (its channels as one grey uint8 image of (rows * H, cols * W), 8 bits over the
    sample's [min, max]; the header floats lo, hi): channel c at grid cell (c // cols, c % cols)."""
    c, h, w = _chw(x.shape)
    planes = x.reshape(c, h, w)
    lo, hi, floats = sample_range(planes, "minmax")
    rows, cols = _grid(c)
    padded = np.zeros((rows * cols, h, w), dtype=np.uint8)
    padded[:c] = quantize(planes, 8, lo, hi).astype(np.uint8)
    return padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w), floats


def untile_levels(image: np.ndarray, shape, floats: list[float]) -> np.ndarray:
    """Inverse of `tile_levels`: the grey image and header floats -> the feature (float32, `shape`)."""
    c, h, w = _chw(shape)
    rows, cols = _grid(c)
    if image.shape != (rows * h, cols * w) or image.dtype != np.uint8:
        raise FrameError(f"a {image.dtype} {image.shape} image, expected uint8 {(rows * h, cols * w)}")
    grey = image.reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(rows * cols, h, w)[:c]
    return dequantize(grey.astype(np.int64), 8, floats[0], floats[1]).reshape(shape)


def _image_bytes(image: np.ndarray, fmt: str, **options) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format=fmt, **options)
    return buf.getvalue()


def _image_of(payload: bytes, fmt: str) -> np.ndarray:
    from PIL import Image
    try:
        with Image.open(io.BytesIO(payload), formats=[fmt]) as img:
            return np.asarray(img)
    except (OSError, ValueError) as exc:
        raise FrameError(f"not a {fmt} payload ({exc})") from None


def jpeg_preamble(height: int, width: int, quality: int) -> bytes:
    """What a standard-table JPEG of that size and quality writes before its scan (the same for
    every image): left out of the payload when the wire says headers false, put back to decode."""
    data = _image_bytes(np.zeros((height, width), dtype=np.uint8), "JPEG", quality=quality, optimize=False)
    at = 2
    while data[at + 1] != 0xDA:
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return data[: at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")]


def jpeg_encode(x: np.ndarray, quality: int, optimize: bool, headers: bool) -> tuple[bytes, list[float]]:
    tiled, floats = tile_levels(x)
    data = _image_bytes(tiled, "JPEG", quality=quality, optimize=optimize)
    if not headers:
        data = data[len(jpeg_preamble(*tiled.shape, quality)) : -2]  # the scan, without EOI
    return data, floats


def jpeg_decode(payload: bytes, shape, floats: list[float], quality: int, headers: bool) -> np.ndarray:
    if not headers:
        c, h, w = _chw(shape)
        rows, cols = _grid(c)
        payload = jpeg_preamble(rows * h, cols * w, quality) + payload + b"\xff\xd9"
    return untile_levels(_image_of(payload, "JPEG"), shape, floats)


def png_encode(x: np.ndarray, compress_level: int) -> tuple[bytes, list[float]]:
    tiled, floats = tile_levels(x)
    return _image_bytes(tiled, "PNG", compress_level=compress_level), floats


def png_decode(payload: bytes, shape, floats: list[float]) -> np.ndarray:
    return untile_levels(_image_of(payload, "PNG"), shape, floats)


# ------------------------------------------------------------------ the wire format of config.json

def encode(wire: dict, z: np.ndarray) -> tuple[bytes, list[float]]:
    """One sample's sent tensor (float32, wire["shape"]) -> (payload, header floats), as `wire` says."""
    codec = wire["codec"]
    if codec == "none":
        return z.astype("<f4").tobytes(), []
    if codec == "jpeg":
        return jpeg_encode(z, wire["quality"], wire["optimize"], wire.get("headers", True))
    if codec == "png":
        return png_encode(z, wire["compress_level"])
    lo, hi, floats = sample_range(z, wire["scale"])
    levels = quantize(z, wire["bits"], lo, hi).ravel()
    if codec == "quant":
        return pack_fields(levels, np.full(levels.size, wire["bits"])), floats
    return (huffman_encode if codec == "huffman" else rle_encode)(levels, wire["bits"]), floats


def decode(wire: dict, payload: bytes, floats: list[float]) -> np.ndarray:
    """Inverse of `encode`: the received tensor (float32, wire["shape"]); FrameError if corrupt."""
    codec, shape = wire["codec"], tuple(wire["shape"])
    count = int(np.prod(shape))
    if codec == "none":
        if len(payload) != 4 * count:
            raise FrameError(f"payload of {len(payload)} bytes, expected {4 * count} (float32 x {count})")
        return np.frombuffer(payload, dtype="<f4").astype(np.float32).reshape(shape)
    if codec == "jpeg":
        return jpeg_decode(payload, shape, floats, wire["quality"], wire.get("headers", True))
    if codec == "png":
        return png_decode(payload, shape, floats)
    if codec == "quant":
        levels = unpack_fixed(payload, wire["bits"], count)
    else:
        levels = (huffman_decode if codec == "huffman" else rle_decode)(payload, wire["bits"], count)
    if levels.max(initial=0) >= 1 << wire["bits"]:
        raise FrameError(f"a level above {(1 << wire['bits']) - 1}")
    lo, hi = header_range(wire["scale"], floats)
    return dequantize(levels, wire["bits"], lo, hi).reshape(shape)


def codec_floats(wire: dict) -> int:
    """How many header floats the codec sends (its range), before the side information."""
    return 2 if wire["codec"] in ("jpeg", "png") else header_count(wire.get("scale"))


# ------------------------------------------------------------------ an export folder

def preprocess(images: np.ndarray, prep: dict) -> np.ndarray:
    """uint8 images (N, H, W) or (N, C, H, W) -> the device input, as config["preprocessing"] says."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images[:, None]
    c, h, w = prep["input_shape"]
    n, ci, hi, wi = images.shape
    if ci != c or hi > h or wi > w:
        raise ValueError(f"images of shape {images.shape[1:]} do not fit the input {c}x{h}x{w}")
    padded = np.full((n, c, h, w), prep["pad_value"], dtype=np.uint8)
    top, left = (h - hi) // 2, (w - wi) // 2
    padded[:, :, top : top + hi, left : left + wi] = images
    mean = np.asarray(prep["mean"], dtype=np.float32).reshape(1, c, 1, 1)
    std = np.asarray(prep["std"], dtype=np.float32).reshape(1, c, 1, 1)
    return ((padded.astype(np.float32) * np.float32(prep["scale"]) - mean) / std).astype(np.float32)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Export:
    """One export folder: its config and the two ONNX sessions."""

    folder: Path
    config: dict
    device: object
    server: object

    @classmethod
    def load(cls, folder: str | Path) -> "Export":
        import onnxruntime as ort
        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        sessions = []
        for role in ("device", "server"):
            path = folder / config["files"][f"{role}_onnx"]
            if sha256(path) != config["sha256"][path.name]:
                raise ValueError(f"{path}: its SHA-256 differs from config.json's")
            sessions.append(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
        return cls(folder, config, *sessions)

    @property
    def wire(self) -> dict:
        return self.config["wire"]

    def run_device(self, x: np.ndarray) -> list[np.ndarray]:
        """Device input batch -> [z] or [z, lo, span] (the boundary tensors, config["programs"])."""
        return self.device.run(None, {"x": x})

    def run_server(self, received: list[np.ndarray]) -> np.ndarray:
        names = [t["name"] for t in self.config["programs"]["server"]["inputs"]]
        return self.server.run(None, dict(zip(names, received)))[0]

    def code_frame(self, sent: list[np.ndarray], i: int) -> tuple[bytes, list[float]]:
        """Sample i of the device's outputs -> (payload, header floats: codec range, then lo, span)."""
        payload, floats = encode(self.wire, sent[0][i])
        return payload, floats + [float(t[i]) for t in sent[1:]]

    def uncode_frame(self, payload: bytes, floats: list[float]) -> list[np.ndarray]:
        """(payload, header floats) -> the server's inputs for one sample (batch of 1)."""
        own = codec_floats(self.wire)
        side = 2 if self.config["sent"]["side_information"] else 0
        if len(floats) != own + side:
            raise FrameError(f"{len(floats)} header floats, expected {own + side}")
        y = decode(self.wire, payload, floats[:own])[None]
        return [y, *(np.array([v], dtype=np.float32) for v in floats[own:])]


def load_entries(folder: Path) -> tuple[dict[str, Export], list[dict]]:
    """{entry: Export} and the table's environments (one entry for a plain export folder)."""
    if (folder / "table.json").is_file():
        table = json.loads((folder / "table.json").read_text())
        names = sorted({e["entry"] for e in table["environments"]})
        return {name: Export.load(folder / name) for name in names}, table["environments"]
    return {"": Export.load(folder)}, []


def choose_entry(environments: list[dict], rate_bit_per_s: float) -> str:
    """The entry of the fastest environment whose link rate does not exceed the rate (else the slowest)."""
    ordered = sorted(environments, key=lambda e: e["link_rate_bit_per_s"])
    fitting = [e for e in ordered if e["link_rate_bit_per_s"] <= rate_bit_per_s * (1 + 1e-9)]
    return (fitting[-1] if fitting else ordered[0])["entry"]


# ------------------------------------------------------------------ framing

def frame(kind: int, frame_id: int, payload: bytes = b"", floats: list[float] = ()) -> bytes:
    return HEADER.pack(MAGIC, VERSION, kind, len(floats), frame_id, len(payload)) + \
        struct.pack(f"!{len(floats)}f", *floats) + payload


def read_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError(f"truncated frame: the connection closed after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(sock: socket.socket) -> tuple[int, int, list[float], bytes]:
    """(kind, frame id, floats, payload); FrameError for a header this runner refuses, EOFError
    for a connection that closes (mid-frame: a truncated frame)."""
    head = sock.recv(HEADER.size, socket.MSG_WAITALL)
    if not head:
        raise EOFError("")
    if len(head) < HEADER.size:
        raise EOFError(f"truncated frame: the connection closed after {len(head)} of {HEADER.size} header bytes")
    magic, version, kind, n_floats, frame_id, length = HEADER.unpack(head)
    if magic != MAGIC:
        raise FrameError(f"not a split-runner frame (magic {magic!r})")
    if version != VERSION:
        raise FrameError(f"frame version {version}, this runner speaks {VERSION}")
    if kind > ERROR or length > MAX_PAYLOAD:
        raise FrameError(f"frame kind {kind} or length {length} out of range")
    floats = list(struct.unpack(f"!{n_floats}f", read_exact(sock, 4 * n_floats)))
    return kind, frame_id, floats, read_exact(sock, length)


def reply(sock: socket.socket, kind: int, frame_id: int, body: dict) -> None:
    sock.sendall(frame(kind, frame_id, json.dumps(body).encode()))


# ------------------------------------------------------------------ server and device

def serve_connection(conn: socket.socket, entries: dict[str, Export], log) -> None:
    """Serve one device until it closes; a bad frame is answered with ERROR and logged."""
    current = entries[next(iter(entries))] if len(entries) == 1 else None
    while True:
        try:
            kind, frame_id, floats, payload = read_frame(conn)
        except EOFError as exc:
            if str(exc):
                log(f"refused: {exc}")
            return
        except FrameError as exc:  # the stream cannot be resynchronised: answer, then drop the connection
            log(f"refused: {exc}")
            reply(conn, ERROR, 0, {"error": str(exc)})
            return
        try:
            if kind == HELLO:
                name = payload.decode()
                if name not in entries:
                    raise FrameError(f"no table entry {name!r}")
                current = entries[name]
                reply(conn, RESULT, frame_id, {"entry": name})
            elif kind == PROBE:
                reply(conn, RESULT, frame_id, {"bytes": len(payload)})
            elif kind == DATA:
                if current is None:
                    raise FrameError("a data frame before HELLO named a table entry")
                start = time.perf_counter()
                logits = current.run_server(current.uncode_frame(payload, floats))
                body = {"class": int(logits[0].argmax()), "server_s": time.perf_counter() - start}
                reply(conn, RESULT, frame_id, body)
            else:
                raise FrameError(f"frame kind {kind} is not sent to a server")
        except FrameError as exc:
            log(f"refused frame {frame_id}: {exc}")
            reply(conn, ERROR, frame_id, {"error": str(exc)})


def serve(folder: Path, host: str, port: int, *, ready=None, stop=None, log=print) -> None:
    """Listen on (host, port) and serve devices one after the other until `stop` is set.
    `ready(port)` is called once listening (port 0 picks a free one)."""
    entries, _ = load_entries(folder)
    with socket.create_server((host, port)) as server:
        server.settimeout(0.2)
        if ready is not None:
            ready(server.getsockname()[1])
        log(f"serving {', '.join(entries) or folder} on {host}:{server.getsockname()[1]}")
        while stop is None or not stop.is_set():
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(None)
                serve_connection(conn, entries, log)


def request(sock: socket.socket, data: bytes) -> tuple[dict, int]:
    sock.sendall(data)
    kind, frame_id, _, body = read_frame(sock)
    answer = json.loads(body.decode())
    if kind == ERROR:
        raise FrameError(f"the server refused frame {frame_id}: {answer['error']}")
    return answer, frame_id


def measure_rate(sock: socket.socket, size: int = 1 << 20) -> float:
    """The socket's rate in bit/s: a PROBE of `size` bytes timed until the server's answer."""
    start = time.perf_counter()
    request(sock, frame(PROBE, 0, bytes(size)))
    return 8 * size / (time.perf_counter() - start)


def run_device(folder: Path, address: str, images: np.ndarray, *, link_rate_bit_per_s: float | None = None,
               log=print) -> list[dict]:
    """Send every image (uint8) to the server: one line per frame, the list of frame records."""
    entries, environments = load_entries(folder)
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        name = next(iter(entries))
        if environments:
            rate = link_rate_bit_per_s if link_rate_bit_per_s is not None else measure_rate(sock)
            name = choose_entry(environments, rate)
            log(f"link rate {rate / 1e6:.3g} Mbit/s -> table entry {name}")
        request(sock, frame(HELLO, 0, name.encode()))
        export, records = entries[name], []
        predicted = export.config["predicted"]["latency_s"]
        for i, x in enumerate(preprocess(images, export.config["preprocessing"])):
            start = time.perf_counter()
            payload, floats = export.code_frame(export.run_device(x[None]), 0)
            data = frame(DATA, i, payload, floats)
            device_s = time.perf_counter() - start
            answer, _ = request(sock, data)
            record = {"frame": i, "class": answer["class"], "device_s": device_s, "bytes": len(data),
                      "server_s": answer["server_s"], "latency_s": time.perf_counter() - start}
            records.append(record)
            log(f"frame {i}: class {record['class']}, device {1e3 * device_s:.2f} ms, {len(data)} bytes, "
                f"server {1e3 * record['server_s']:.2f} ms, end to end {1e3 * record['latency_s']:.2f} ms "
                f"(predicted {1e3 * predicted:.2f} ms)")
    return records


def read_images(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """uint8 images and labels (or None) from .npy (images), .npz (images[, labels]) or one image file."""
    if path.suffix == ".npy":
        return np.load(path), None
    if path.suffix == ".npz":
        with np.load(path) as data:
            return data["images"], data["labels"] if "labels" in data else None
    from PIL import Image
    with Image.open(path) as img:
        array = np.asarray(img)
    return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)[None]), None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, default=Path(__file__).resolve().parent,
                        help="the export folder (default: this file's folder)")
    roles = parser.add_subparsers(dest="role", required=True)
    server = roles.add_parser("server", help="decode and classify frames")
    server.add_argument("--listen", type=int, required=True, metavar="PORT")
    server.add_argument("--host", default="0.0.0.0")
    device = roles.add_parser("device", help="preprocess, run the device part, encode, send")
    device.add_argument("--connect", required=True, metavar="HOST:PORT")
    device.add_argument("--images", type=Path, required=True, metavar="FILE")
    device.add_argument("--link-rate", type=float, metavar="MBIT_S", help="pick the table entry for this rate")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (FrameError, ValueError, OSError, KeyError, EOFError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.role == "server":
        serve(args.export, args.host, args.listen)
        return 0
    images, labels = read_images(args.images)
    rate = None if args.link_rate is None else args.link_rate * 1e6
    records = run_device(args.export, args.connect, images, link_rate_bit_per_s=rate)
    if labels is not None and records:
        correct = sum(r["class"] == int(y) for r, y in zip(records, labels))
        print(f"accuracy {correct / len(records):.4f} over {len(records)} frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
