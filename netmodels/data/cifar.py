"""CIFAR-10 / CIFAR-100 in the standard "python version" layout (www.cs.toronto.edu/~kriz/cifar.html).

Looked for in `root` (default data/), in this order: the extracted folder
(`cifar-10-batches-py/` or `cifar-100-python/`, or root itself if it holds the batch files),
then the tarball (`cifar-10-python.tar.gz` / `cifar-100-python.tar.gz`, MD5-checked, read in
place without extracting), then, only with allow_download=True, a download of the tarball.

The batches are pickled dicts (b"data": N x 3072 uint8, rows R then G then B planes of 32x32;
b"labels" or b"fine_labels"). They are unpickled with `_ArrayUnpickler`, which constructs
numpy arrays and plain values only: a crafted batch that names any other global (os.system,
builtins.eval, ...) is refused instead of run.
"""
from __future__ import annotations

import io
import pickle
import tarfile
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from netmodels.data.base import DATASETS, DEFAULT_DATA_DIR, ImageDataset, channel_stats, md5sum
from splitbase import DataError


@dataclass(frozen=True)
class CifarLayout:
    name: str
    tarball: str
    md5: str
    folder: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    label_key: bytes
    meta: str
    names_key: bytes
    num_classes: int


LAYOUTS = {
    "cifar10": CifarLayout(
        "cifar10", "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py",
        tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), b"labels", "batches.meta", b"label_names", 10,
    ),
    "cifar100": CifarLayout(
        "cifar100", "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python",
        ("train",), ("test",), b"fine_labels", "meta", b"fine_label_names", 100,
    ),
}
URL = "https://www.cs.toronto.edu/~kriz/"


# The globals a CIFAR batch (numpy arrays in a dict, pickled by Python 2 or 3, numpy 1 or 2) names.
_ARRAY_GLOBALS = frozenset({
    *((package, name) for package in ("numpy.core.multiarray", "numpy._core.multiarray")
      for name in ("_reconstruct", "scalar")),
    *((package, "_frombuffer") for package in ("numpy.core.numeric", "numpy._core.numeric")),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
})


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that constructs numpy arrays and plain values, nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to construct {module}.{name} (only numpy arrays)")
        return super().find_class(module, name)


def _unpickle(raw: bytes):
    return _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()


def _parse_batch(raw: bytes, where: str, layout: CifarLayout) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _unpickle(raw)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[layout.label_key], dtype=np.int64)
    except Exception as exc:  # pickle raises many kinds on a corrupt file; all mean "not a batch"
        raise DataError(f"{where}: not a {layout.name} batch (a pickled dict with b'data' and {layout.label_key!r}): {exc!r}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise DataError(f"{where}: expected b'data' of N x 3072 and N labels, got {data.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= layout.num_classes):
        raise DataError(f"{where}: labels outside 0..{layout.num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels


def _class_names(raw: bytes | None, layout: CifarLayout) -> tuple[str, ...] | None:
    # The meta file only names the classes; a missing or odd one costs the names, not the data.
    if raw is None:
        return None
    try:
        names = _unpickle(raw)[layout.names_key]
        names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    except Exception:  # noqa: BLE001 - see above
        return None
    return names if len(names) == layout.num_classes else None


def _build(layout: CifarLayout, read: Callable[[str], bytes | None], where: Callable[[str], str]) -> ImageDataset:
    def split(members: tuple[str, ...]) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        for member in members:
            raw = read(member)
            if raw is None:
                raise DataError(f"{where(member)}: missing (expected a {layout.name} batch)")
            parts.append(_parse_batch(raw, where(member), layout))
        return torch.from_numpy(np.concatenate([p[0] for p in parts])), torch.from_numpy(np.concatenate([p[1] for p in parts]))

    train_images, train_labels = split(layout.train)
    test_images, test_labels = split(layout.test)
    mean, std = channel_stats(train_images)
    return ImageDataset(
        layout.name, train_images, train_labels, test_images, test_labels,
        num_classes=layout.num_classes, mean=mean, std=std, class_names=_class_names(read(layout.meta), layout),
    )


def _from_folder(layout: CifarLayout, folder: Path) -> ImageDataset:
    def read(member: str) -> bytes | None:
        path = folder / member
        return path.read_bytes() if path.is_file() else None

    return _build(layout, read, lambda member: str(folder / member))


def _from_tarball(layout: CifarLayout, path: Path, md5: str) -> ImageDataset:
    actual = md5sum(path)
    if actual != md5:
        raise DataError(f"{path}: MD5 {actual}, expected {md5} (corrupt or not the {layout.name} python tarball)")
    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {m.name: m for m in tar.getmembers() if m.isfile()}

            def read(member: str) -> bytes | None:
                info = members.get(f"{layout.folder}/{member}")
                file = tar.extractfile(info) if info is not None else None
                return file.read() if file is not None else None

            return _build(layout, read, lambda member: f"{path}:{layout.folder}/{member}")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read as a gzipped tar file ({exc})") from None


def _download(layout: CifarLayout, path: Path, md5: str) -> None:
    url = URL + layout.tarball
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise DataError(f"{path}: missing and could not be downloaded from {url} ({exc}); download it elsewhere and put it there") from None
    actual = md5sum(part)
    if actual != md5:
        part.unlink(missing_ok=True)
        raise DataError(f"{url}: downloaded file has MD5 {actual}, expected {md5}; put a good copy at {path}")
    part.replace(path)


def load_cifar(name: str, root: Path | None, allow_download: bool, md5: str | None) -> ImageDataset:
    """CIFAR-10 or -100 (name "cifar10" / "cifar100") from root; see the module docstring."""
    layout = LAYOUTS[name]
    root = DEFAULT_DATA_DIR if root is None else Path(root)
    md5 = layout.md5 if md5 is None else md5
    for folder in (root / layout.folder, root):
        if (folder / layout.train[0]).is_file():
            return _from_folder(layout, folder)
    tarball = root / layout.tarball
    if not tarball.is_file():
        if not allow_download:
            raise DataError(
                f"{tarball}: missing (expected the {layout.name} python tarball or the extracted folder "
                f"{root / layout.folder}/; put it there or allow downloading)"
            )
        _download(layout, tarball, md5)
    return _from_tarball(layout, tarball, md5)


@DATASETS.register("cifar10")
def load_cifar10(*, root: Path | None = None, allow_download: bool = False, md5: str | None = None) -> ImageDataset:
    """CIFAR-10: 50k train / 10k test, 3 x 32 x 32, 10 classes. md5 overrides the tarball's expected MD5."""
    return load_cifar("cifar10", root, allow_download, md5)


@DATASETS.register("cifar100")
def load_cifar100(*, root: Path | None = None, allow_download: bool = False, md5: str | None = None) -> ImageDataset:
    """CIFAR-100 (fine labels): 50k train / 10k test, 3 x 32 x 32, 100 classes. md5: as for cifar10."""
    return load_cifar("cifar100", root, allow_download, md5)
