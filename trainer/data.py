"""FER-2013 loading, from the original CSV (optionally gzipped), the class-folder layout, or a
compact file of Training and PublicTest alone (`python -m trainer compact`, for a lent GPU).

Everything is loaded into memory as uint8 arrays: the whole data set is ~80 MB, and
in-memory batches keep 2-core training busy with convolutions instead of I/O.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import lzma
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sentivis.contract import (
    CROP_SIZE as IMAGE_SIZE,  # FER-2013 faces are the model's crop size
)
from sentivis.errors import SentivisError
from sentivis.labels import EMOTIONS
from trainer.files import temp_path_for

CSV_SPLITS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "publictest": "val",
                 "validation": "val", "test": "test", "privatetest": "test"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


class DataError(SentivisError, ValueError):
    """A row or file of the data set is malformed; the message names it."""


@dataclass
class FaceSplit:
    images: np.ndarray  # uint8 [N, 48, 48]
    labels: np.ndarray  # int64 [N]
    name: str

    def __len__(self) -> int:
        return len(self.labels)

    def class_counts(self) -> list[int]:
        return np.bincount(self.labels, minlength=len(EMOTIONS)).tolist()

    def fingerprint(self) -> str:
        """sha256 of the split's images and labels, in order: teacher files and compact files name
        the exact data they hold or were made for."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels.astype(np.int64)).tobytes())
        return h.hexdigest()


@dataclass
class FaceDataset:
    train: FaceSplit
    val: FaceSplit
    test: FaceSplit
    source: str
    layout: str  # "csv" or "folders"
    val_from: str  # where the validation split came from, for the model card

    def split(self, name: str) -> FaceSplit:
        key = SPLIT_ALIASES.get(name.lower())
        if key is None:
            raise ValueError(f"unknown split {name!r}; use Training, PublicTest or PrivateTest")
        if key == "test":
            self.check_has_test()
        return getattr(self, key)

    def check_has_test(self) -> None:
        """A compact file carries no PrivateTest: reports on it need the full data set."""
        if not len(self.test):
            raise DataError(f"{self.source} holds Training and PublicTest only (a compact file); "
                            f"PrivateTest is read from the full data set: pass it as the data")


def load_dataset(path: str | Path, val_fraction: float = 0.1, seed: int = 0) -> FaceDataset:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return _load_folders(path, val_fraction, seed)
    if path.name.endswith((".csv", ".csv.gz")):
        return _load_csv(path)
    if path.suffix == ".npz":
        return load_compact(path)
    raise DataError(f"{path}: expected a FER-2013 .csv/.csv.gz file, a folder with train/ and test/, or a "
                    f"compact .npz file")


def _open_text(path: Path):
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _load_csv(path: Path) -> FaceDataset:
    parts: dict[str, tuple[list[np.ndarray], list[int]]] = {k: ([], []) for k in ("train", "val", "test")}
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[:3]] != ["emotion", "pixels", "Usage"]:
                raise DataError(f"{path}: header must be 'emotion,pixels,Usage', found {header!r}")
            for row in reader:
                line = reader.line_num
                image, label, split = _parse_row(path, line, row)
                parts[split][0].append(image)
                parts[split][1].append(label)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error, zlib.error) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from exc
    splits = {}
    for key, (images, labels) in parts.items():
        if not images:
            raise DataError(f"{path}: no rows with Usage {_usage_name(key)}")
        splits[key] = FaceSplit(np.stack(images), np.asarray(labels, dtype=np.int64), _usage_name(key))
    return FaceDataset(**splits, source=str(path), layout="csv", val_from="PublicTest")


def _usage_name(key: str) -> str:
    return {v: k for k, v in CSV_SPLITS.items()}[key]


def _parse_row(path: Path, line: int, row: list[str]) -> tuple[np.ndarray, int, str]:
    where = f"{path}: line {line}"
    if len(row) != 3:
        raise DataError(f"{where}: expected 3 columns (emotion,pixels,Usage), found {len(row)}")
    emotion, pixels, usage = row
    try:
        label = int(emotion)
    except ValueError:
        raise DataError(f"{where}: emotion {emotion!r} is not an integer") from None
    if not 0 <= label < len(EMOTIONS):
        raise DataError(f"{where}: emotion {label} is outside 0..{len(EMOTIONS) - 1}")
    split = CSV_SPLITS.get(usage.strip())
    if split is None:
        raise DataError(f"{where}: Usage {usage!r} is not one of {', '.join(CSV_SPLITS)}")
    values = _parse_pixels(pixels)
    if values is None:
        try:
            values = np.array(pixels.split(), dtype=np.int64)
        except ValueError:
            raise DataError(f"{where}: pixels contain a value that is not an integer") from None
    if values.size != IMAGE_SIZE * IMAGE_SIZE:
        raise DataError(f"{where}: expected {IMAGE_SIZE * IMAGE_SIZE} pixels, found {values.size}")
    if values.min() < 0 or values.max() > 255:
        raise DataError(f"{where}: pixel values must lie in 0..255")
    return values.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE), label, split


def _parse_pixels(pixels: str) -> np.ndarray | None:
    """Fast path (4x faster than split()): None when any text is not an integer, for the exact error."""
    with warnings.catch_warnings():
        # numpy 1.x warns (2.x raises) and stops early on text it cannot parse.
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return np.fromstring(pixels, dtype=np.int64, sep=" ")
        except (DeprecationWarning, ValueError):
            return None


def _load_folders(root: Path, val_fraction: float, seed: int) -> FaceDataset:
    train_dir, test_dir = root / "train", root / "test"
    for d in (train_dir, test_dir):
        if not d.is_dir():
            raise DataError(f"{root}: expected folders train/<class>/ and test/<class>/, {d.name}/ is missing")
    train_images, train_labels = _read_class_folders(train_dir)
    test_images, test_labels = _read_class_folders(test_dir)
    # Validation is a seeded, stratified slice of train: the folder layout has no PublicTest.
    rng = np.random.default_rng(seed)
    val_idx = []
    for c in range(len(EMOTIONS)):
        members = np.flatnonzero(train_labels == c)
        rng.shuffle(members)
        val_idx.extend(members[: int(round(len(members) * val_fraction))])
    val_mask = np.zeros(len(train_labels), dtype=bool)
    val_mask[val_idx] = True
    if not val_mask.any():
        raise DataError(f"{train_dir}: too few images to hold out a validation slice")
    return FaceDataset(
        train=FaceSplit(train_images[~val_mask], train_labels[~val_mask], "train"),
        val=FaceSplit(train_images[val_mask], train_labels[val_mask], f"train (seeded {val_fraction:.0%} slice)"),
        test=FaceSplit(test_images, test_labels, "test"),
        source=str(root), layout="folders", val_from=f"{val_fraction:.0%} of train/, seed {seed}",
    )


def _class_index(name: str) -> int | None:
    name = name.lower()
    return EMOTIONS.index(name) if name in EMOTIONS else None


def _read_class_folders(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    images, labels = [], []
    for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
        label = _class_index(class_dir.name)
        if label is None:
            raise DataError(f"{class_dir}: unknown class folder; expected one of {', '.join(EMOTIONS)}")
        for file in sorted(class_dir.iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(file) as img:
                    img.load()
                    grey = img.convert("L")
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"{file}: not a readable image ({exc})") from None
            if grey.size != (IMAGE_SIZE, IMAGE_SIZE):
                raise DataError(f"{file}: expected {IMAGE_SIZE}x{IMAGE_SIZE} pixels, found "
                                f"{grey.size[0]}x{grey.size[1]}")
            images.append(np.asarray(grey, dtype=np.uint8))
            labels.append(label)
    if not images:
        raise DataError(f"{split_dir}: no images found in its class folders")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


# Compact files: Training and PublicTest only, for a machine PrivateTest must never reach. FER-2013's
# faces hold JPEG noise, so no lossless coder does much better than this: xz (LZMA2) after a delta
# filter of one image row (48 bytes: each pixel minus the one above), 74 MB of faces -> ~52 MB.
COMPACT_FORMAT = 1
COMPACT_SPLITS = ("train", "val")
_XZ_FILTERS = [{"id": lzma.FILTER_DELTA, "dist": IMAGE_SIZE}, {"id": lzma.FILTER_LZMA2, "preset": 9}]


def save_compact(data: FaceDataset, path: str | Path) -> Path:
    """Write data's Training and PublicTest (never PrivateTest) to a compact .npz file, atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        raise DataError(f"{path}: a compact data file's name ends in .npz")
    arrays: dict[str, np.ndarray] = {"format": np.array(COMPACT_FORMAT), "source": np.array(data.source),
                                     "val_from": np.array(data.val_from)}
    for key in COMPACT_SPLITS:
        split: FaceSplit = getattr(data, key)
        packed = lzma.compress(np.ascontiguousarray(split.images).tobytes(), format=lzma.FORMAT_XZ,
                               filters=_XZ_FILTERS)
        arrays.update({f"{key}_images_xz": np.frombuffer(packed, np.uint8),
                       f"{key}_labels": split.labels.astype(np.uint8), f"{key}_name": np.array(split.name),
                       f"{key}_fingerprint": np.array(split.fingerprint())})
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(path)
    try:
        with open(temp, "wb") as handle:
            np.savez(handle, **arrays)  # already compressed: zip's deflate would only cost time
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def load_compact(path: Path) -> FaceDataset:
    """A compact file's Training and PublicTest, each checked against the fingerprint it was written
    with (teacher files made from the full data set stay valid: the fingerprints are the same)."""
    splits = {}
    try:
        with np.load(path) as z:
            if int(z["format"]) != COMPACT_FORMAT:
                raise DataError(f"{path}: compact format {int(z['format'])}, this trainer reads {COMPACT_FORMAT}")
            for key in COMPACT_SPLITS:
                labels = z[f"{key}_labels"].astype(np.int64)
                images = np.frombuffer(bytearray(lzma.decompress(z[f"{key}_images_xz"].tobytes())), np.uint8)
                split = FaceSplit(images.reshape(len(labels), IMAGE_SIZE, IMAGE_SIZE), labels, str(z[f"{key}_name"]))
                if split.fingerprint() != str(z[f"{key}_fingerprint"]):
                    raise DataError(f"{path}: its {split.name} faces do not match their fingerprint (a damaged file)")
                splits[key] = split
            source, val_from = str(z["source"]), str(z["val_from"])
    except (OSError, KeyError, ValueError, EOFError, lzma.LZMAError, zlib.error, zipfile.BadZipFile) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{path}: not a compact data file ({exc})") from None
    empty = FaceSplit(np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8), np.zeros(0, np.int64), "PrivateTest")
    return FaceDataset(**splits, test=empty, source=str(path), layout=f"compact (from {Path(source).name})",
                       val_from=val_from)
