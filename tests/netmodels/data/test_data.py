"""Data sets (tiny files in the real formats, written to tmp_path) and device-resident batching."""
from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from netmodels.data import DATASETS, DeviceBatches, ImageDataset, load_dataset, eval_batches, train_batches
from netmodels.data import fashion_mnist
from splitbase import DataError

# --------------------------------------------------------------------------- Fashion-MNIST (idx)


def write_idx(path: Path, arr: np.ndarray, magic: int, *, gz: bool) -> Path:
    raw = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.astype(np.uint8).tobytes()
    path = path.with_name(path.name + ".gz") if gz else path
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def make_fashion(root: Path, *, gz: bool = True, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": (rng.integers(0, 256, (n_train, 28, 28)), 2051),
        "train-labels-idx1-ubyte": (rng.integers(0, 10, n_train), 2049),
        "t10k-images-idx3-ubyte": (rng.integers(0, 256, (n_test, 28, 28)), 2051),
        "t10k-labels-idx1-ubyte": (rng.integers(0, 10, n_test), 2049),
    }
    root.mkdir(parents=True, exist_ok=True)
    for stem, (arr, magic) in arrays.items():
        write_idx(root / stem, arr, magic, gz=gz)
    return {stem: arr for stem, (arr, _) in arrays.items()}


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_reads_idx_files_and_pads_to_32(tmp_path: Path, gz: bool) -> None:
    arrays = make_fashion(tmp_path, gz=gz)
    ds = load_dataset("fashion-mnist", root=tmp_path)
    assert ds.train_images.shape == (6, 1, 32, 32) and ds.test_images.shape == (4, 1, 32, 32)
    assert ds.train_images.dtype == torch.uint8 and ds.train_labels.dtype == torch.int64
    assert np.array_equal(ds.train_images[:, 0, 2:30, 2:30].numpy(), arrays["train-images-idx3-ubyte"])
    assert ds.train_images[:, :, :2].sum() == 0 and ds.train_images[:, :, :, 30:].sum() == 0  # zero border
    assert np.array_equal(ds.test_labels.numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert ds.num_classes == 10 and len(ds.class_names) == 10 and ds.input_shape == (1, 32, 32)
    expected = ds.train_images.double() / 255
    assert ds.mean[0] == pytest.approx(expected.mean().item()) and ds.std[0] == pytest.approx(expected.std(unbiased=False).item())


def test_fashion_mnist_mixed_gzip_and_raw(tmp_path: Path) -> None:
    make_fashion(tmp_path, gz=True)
    raw = gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(raw)
    assert load_dataset("fashion-mnist", root=tmp_path).test_labels.shape == (4,)


def _corrupt_bad_magic(root: Path) -> Path:
    return write_idx(root / "train-images-idx3-ubyte", np.zeros((6, 28, 28)), 1234, gz=True)


def _corrupt_truncated(root: Path) -> Path:
    path = root / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    return path


def _corrupt_count(root: Path) -> Path:
    return write_idx(root / "train-labels-idx1-ubyte", np.zeros(5), 2049, gz=True)


def _corrupt_missing(root: Path) -> Path:
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    return root / "t10k-labels-idx1-ubyte"


def _corrupt_gzip(root: Path) -> Path:
    path = root / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:12])  # a gzip header with the stream cut off
    return path


def _corrupt_size(root: Path) -> Path:
    return write_idx(root / "train-images-idx3-ubyte", np.zeros((6, 27, 28)), 2051, gz=True)


@pytest.mark.parametrize(
    "corrupt, words",
    [
        (_corrupt_bad_magic, "magic 1234, expected 2051"),
        (_corrupt_truncated, "truncated"),
        (_corrupt_count, "5 labels for 6 images"),
        (_corrupt_missing, "missing"),
        (_corrupt_gzip, "cannot be read"),
        (_corrupt_size, "expected 28x28"),
    ],
)
def test_fashion_mnist_corrupt_files_name_the_path(tmp_path: Path, corrupt, words: str) -> None:
    make_fashion(tmp_path)
    path = corrupt(tmp_path)
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", root=tmp_path)
    assert str(path) in str(info.value) and words in str(info.value)


@pytest.mark.skipif(not fashion_mnist.DEFAULT_ROOT.is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist() -> None:
    ds = load_dataset("fashion-mnist")
    assert len(ds.train_labels) == 60000 and len(ds.test_labels) == 10000
    assert ds.input_shape == (1, 32, 32) and ds.num_classes == 10
    assert torch.equal(torch.bincount(ds.test_labels), torch.full((10,), 1000))


# --------------------------------------------------------------------------- CIFAR


def cifar_batch(n: int, label_key: bytes, classes: int, seed: int) -> dict[bytes, object]:
    rng = np.random.default_rng(seed)
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), label_key: rng.integers(0, classes, n).tolist()}


def cifar_files(which: str) -> dict[str, bytes]:
    """The member files (name -> bytes) of a tiny CIFAR-10 or CIFAR-100 python tarball."""
    if which == "cifar10":
        files = {f"data_batch_{i}": cifar_batch(3, b"labels", 10, i) for i in range(1, 6)}
        files["test_batch"] = cifar_batch(2, b"labels", 10, 9)
        files["batches.meta"] = {b"label_names": [f"c{i}".encode() for i in range(10)]}
    else:
        files = {"train": cifar_batch(7, b"fine_labels", 100, 1), "test": cifar_batch(3, b"fine_labels", 100, 2)}
        files["meta"] = {b"fine_label_names": [f"f{i}".encode() for i in range(100)]}
    return {name: pickle.dumps(obj) for name, obj in files.items()}


FOLDER = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
TARBALL = {"cifar10": "cifar-10-python.tar.gz", "cifar100": "cifar-100-python.tar.gz"}


def write_tarball(root: Path, which: str, files: dict[str, bytes]) -> tuple[Path, str]:
    path = root / TARBALL[which]
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in files.items():
            info = tarfile.TarInfo(f"{FOLDER[which]}/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path, hashlib.md5(path.read_bytes()).hexdigest()


def check_cifar(ds: ImageDataset, which: str, files: dict[str, bytes]) -> None:
    first = pickle.loads(files["data_batch_1" if which == "cifar10" else "train"])
    n_train, n_test, classes = (15, 2, 10) if which == "cifar10" else (7, 3, 100)
    assert ds.train_images.shape == (n_train, 3, 32, 32) and ds.test_images.shape == (n_test, 3, 32, 32)
    assert ds.num_classes == classes and len(ds.class_names) == classes
    # Row layout: 1024 red, then 1024 green, then 1024 blue values, each 32 x 32 row-major.
    assert int(ds.train_images[0, 1, 2, 5]) == int(first[b"data"][0, 1024 + 2 * 32 + 5])
    key = b"labels" if which == "cifar10" else b"fine_labels"
    assert ds.train_labels[: len(first[key])].tolist() == first[key]


@pytest.mark.parametrize("which", ["cifar10", "cifar100"])
def test_cifar_tarball_with_md5(tmp_path: Path, which: str) -> None:
    files = cifar_files(which)
    _, md5 = write_tarball(tmp_path, which, files)
    check_cifar(load_dataset(which, root=tmp_path, md5=md5), which, files)


@pytest.mark.parametrize("which", ["cifar10", "cifar100"])
def test_cifar_tarball_wrong_md5(tmp_path: Path, which: str) -> None:
    path, md5 = write_tarball(tmp_path, which, cifar_files(which))
    with pytest.raises(DataError) as info:
        load_dataset(which, root=tmp_path)  # the real table's MD5, which this tiny file does not have
    message = str(info.value)
    assert str(path) in message and md5 in message and ("c58f3010" in message or "eb9058c3" in message)


@pytest.mark.parametrize("which", ["cifar10", "cifar100"])
def test_cifar_extracted_folder(tmp_path: Path, which: str) -> None:
    files = cifar_files(which)
    (tmp_path / FOLDER[which]).mkdir()
    for name, raw in files.items():
        (tmp_path / FOLDER[which] / name).write_bytes(raw)
    check_cifar(load_dataset(which, root=tmp_path), which, files)


def test_cifar_corrupt_batch_and_missing_member(tmp_path: Path) -> None:
    files = cifar_files("cifar10")
    folder = tmp_path / FOLDER["cifar10"]
    folder.mkdir()
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    (folder / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="data_batch_3: not a cifar10 batch"):
        load_dataset("cifar10", root=tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3: missing"):
        load_dataset("cifar10", root=tmp_path)
    del files["test_batch"]
    (tmp_path / "other").mkdir()
    _, md5 = write_tarball(tmp_path / "other", "cifar10", files)
    with pytest.raises(DataError, match="test_batch: missing"):
        load_dataset("cifar10", root=tmp_path / "other", md5=md5)


def test_cifar_missing_and_download_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", root=tmp_path)
    assert str(tmp_path / "cifar-10-python.tar.gz") in str(info.value) and "missing" in str(info.value)

    def offline(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(DataError, match="could not be downloaded") as info:
        load_dataset("cifar100", root=tmp_path, allow_download=True)
    assert str(tmp_path / "cifar-100-python.tar.gz") in str(info.value)
    assert not list(tmp_path.iterdir())  # no partial file left behind


# --------------------------------------------------------------------------- ImageFolder


def write_png(path: Path, value: int, size: tuple[int, int] = (12, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size[1], size[0], 3), value, dtype=np.uint8)
    arr[0, 0] = 255 - value  # a corner pixel the centre crop removes
    Image.fromarray(arr).save(path)


def test_imagefolder_train_test_layout(tmp_path: Path) -> None:
    for split, n in (("train", 3), ("test", 1)):
        for c, cls in enumerate(("cat", "dog")):
            for i in range(n):
                write_png(tmp_path / split / cls / f"{i}.png", 40 * c + i)
    ds = load_dataset("imagefolder", root=tmp_path, size=8)
    assert ds.class_names == ("cat", "dog") and ds.train_images.shape == (6, 3, 8, 8) and ds.test_images.shape == (2, 3, 8, 8)
    assert ds.train_labels.tolist() == [0, 0, 0, 1, 1, 1] and ds.test_labels.tolist() == [0, 1]
    assert int(ds.train_images[4, 0, 4, 4]) == 41  # dog/1.png, centre pixel, resized and cropped


def test_imagefolder_fraction_split_is_deterministic(tmp_path: Path) -> None:
    for c, cls in enumerate(("a", "b", "c")):
        for i in range(10):
            write_png(tmp_path / cls / f"{i:02d}.png", 20 * c + i)
    one = load_dataset("imagefolder", root=tmp_path, size=6, test_fraction=0.3, seed=1, channels=1)
    two = load_dataset("imagefolder", root=tmp_path, size=6, test_fraction=0.3, seed=1, channels=1)
    assert one.train_images.shape == (21, 1, 6, 6) and one.test_images.shape == (9, 1, 6, 6)
    assert torch.equal(one.test_images, two.test_images) and torch.bincount(one.test_labels).tolist() == [3, 3, 3]
    # Train and test are disjoint and together hold every image (each has its own grey level).
    levels = sorted(one.train_images[:, 0, 3, 3].tolist() + one.test_images[:, 0, 3, 3].tolist())
    assert levels == sorted(20 * c + i for c in range(3) for i in range(10))


def test_imagefolder_errors_name_the_path(tmp_path: Path) -> None:
    write_png(tmp_path / "a" / "0.png", 1)
    bad = tmp_path / "a" / "1.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(DataError, match=str(bad)):
        load_dataset("imagefolder", root=tmp_path, size=4)
    with pytest.raises(DataError, match="missing"):
        load_dataset("imagefolder", root=tmp_path / "nowhere")
    write_png(tmp_path / "split" / "train" / "a" / "0.png", 1)
    write_png(tmp_path / "split" / "test" / "zebra" / "0.png", 1)
    with pytest.raises(DataError, match="zebra"):
        load_dataset("imagefolder", root=tmp_path / "split", size=4)


# --------------------------------------------------------------------------- synthetic, registry


def test_synthetic_is_seeded_and_learnable() -> None:
    a = load_dataset("synthetic", num_classes=4, shape=(2, 16, 16), num_train=200, num_test=100, seed=3)
    b = load_dataset("synthetic", num_classes=4, shape=(2, 16, 16), num_train=200, num_test=100, seed=3)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
    assert a.train_images.shape == (200, 2, 16, 16) and a.num_classes == 4
    # Nearest class mean on the training set classifies the test set far above chance (25 %).
    x, xt = a.train_images.flatten(1).float(), a.test_images.flatten(1).float()
    centroids = torch.stack([x[a.train_labels == c].mean(0) for c in range(4)])
    accuracy = (torch.cdist(xt, centroids).argmin(1) == a.test_labels).float().mean()
    assert accuracy > 0.9


def test_registry_and_options() -> None:
    assert DATASETS.names() == ["cifar10", "cifar100", "fashion-mnist", "imagefolder", "synthetic"]
    with pytest.raises(DataError, match="known: cifar10, cifar100"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="no option colour"):
        load_dataset("synthetic", colour=True)


# --------------------------------------------------------------------------- DeviceBatches


@pytest.fixture()
def small() -> ImageDataset:
    return load_dataset("synthetic", num_classes=3, shape=(3, 8, 10), num_train=37, num_test=11, seed=0)


def test_batches_shapes_dtype_and_normalisation(small: ImageDataset) -> None:
    batches = eval_batches(small, batch_size=5)
    assert len(batches) == 3
    out = list(batches)
    assert [len(y) for _, y in out] == [5, 5, 1]
    x, y = out[0]
    assert x.dtype == torch.float32 and y.dtype == torch.int64 and x.shape == (5, 3, 8, 10)
    mean, std = torch.tensor(small.mean).view(1, 3, 1, 1), torch.tensor(small.std).view(1, 3, 1, 1)
    torch.testing.assert_close(x, (small.test_images[:5].float() / 255 - mean) / std)
    assert torch.equal(torch.cat([y for _, y in out]), small.test_labels)  # in order
    whole = torch.cat([x for x, _ in train_batches(small, batch_size=37, crop_padding=0, flip=False)])
    assert abs(whole.mean().item()) < 1e-4 and whole.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-4)


def test_crops_and_flips_are_real_crops_of_the_padded_image(small: ImageDataset) -> None:
    batches = DeviceBatches(
        small.train_images, small.train_labels, mean=small.mean, std=small.std, batch_size=37, crop_padding=2, flip=True, seed=4
    )
    images = small.train_images
    out = batches.augment(images)
    seen_offsets, flips = set(), 0
    for i in (0, 1, 2, 3, 5, 8, 13, 21, 34):  # reference, per image: search every crop and flip
        padded = F.pad(images[i], (2, 2, 2, 2))
        matches = [
            (dy, dx, f)
            for dy in range(5)
            for dx in range(5)
            for f in (False, True)
            if torch.equal(out[i], (lambda c: c.flip(-1) if f else c)(padded[:, dy : dy + 8, dx : dx + 10]))
        ]
        assert matches, f"sample {i} is not a crop of its padded image"
        seen_offsets.add(matches[0][:2])
        flips += matches[0][2]
    assert len(seen_offsets) > 2 and 0 < flips < 9
    only_flip = DeviceBatches(images, small.train_labels, mean=small.mean, std=small.std, batch_size=37, flip=True)
    out = only_flip.augment(images)
    flipped = torch.tensor([torch.equal(o, im.flip(-1)) for o, im in zip(out, images)])
    assert all(torch.equal(o, im) or f for o, im, f in zip(out, images, flipped)) and 5 < int(flipped.sum()) < 32


def test_epochs_cover_every_sample_and_repeat_under_a_seed(small: ImageDataset) -> None:
    labels = torch.arange(37)  # each sample's label is its index, to track coverage
    make = lambda seed, **kw: DeviceBatches(  # noqa: E731
        small.train_images, labels, mean=small.mean, std=small.std, batch_size=8, shuffle=True,
        crop_padding=4, flip=True, seed=seed, **kw,
    )
    a, b, c = make(7), make(7), make(8)
    epoch1, epoch2 = list(a), list(a)
    assert sorted(torch.cat([y for _, y in epoch1]).tolist()) == list(range(37))
    assert not torch.equal(torch.cat([y for _, y in epoch1]), torch.cat([y for _, y in epoch2]))
    again = list(b)
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(epoch1, again))
    assert not torch.equal(torch.cat([y for _, y in list(c)]), torch.cat([y for _, y in epoch1]))
    dropped = make(7, drop_last=True)
    assert len(dropped) == 4 and sum(len(y) for _, y in dropped) == 32
    x, _ = next(iter(make(7, channels_last=True)))
    assert x.is_contiguous(memory_format=torch.channels_last)
