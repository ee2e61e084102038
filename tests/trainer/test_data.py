"""Loading FER-2013 from CSV, CSV.GZ and class folders; malformed input is named in the error."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sentivis.labels import EMOTIONS
from tests.support.fer import SPLIT_SIZES, write_class_folders, write_fer_csv
from trainer.cli import main
from trainer.data import DataError, load_dataset


@pytest.mark.parametrize("name", ["fer.csv", "fer.csv.gz"])
def test_csv_splits_follow_usage(tmp_path, fer_rows, name):
    data = load_dataset(write_fer_csv(tmp_path / name, fer_rows))
    assert (len(data.train), len(data.val), len(data.test)) == tuple(SPLIT_SIZES.values())
    assert data.split("PublicTest") is data.val and data.split("PrivateTest") is data.test
    assert data.train.images.shape == (160, 48, 48) and data.train.images.dtype == np.uint8
    first_emotion, first_pixels = fer_rows[0]
    assert data.train.labels[0] == int(first_emotion)
    assert data.train.images[0].ravel().tolist() == [int(v) for v in first_pixels.split()]
    assert data.val_from == "PublicTest"


def test_class_folders_hold_out_a_seeded_validation_slice(tmp_path, fer_rows):
    root = write_class_folders(tmp_path / "faces", fer_rows, n_train=200)
    data = load_dataset(root, val_fraction=0.2, seed=3)
    assert len(data.train) + len(data.val) == 200 and len(data.test) == len(fer_rows) - 200
    assert 0.15 < len(data.val) / 200 < 0.25
    again = load_dataset(root, val_fraction=0.2, seed=3)
    assert np.array_equal(data.val.images, again.val.images)
    expected = sorted(int(e) for e, _ in fer_rows[200:])
    assert sorted(data.test.labels.tolist()) == expected


def _csv_with_row(tmp_path, fer_rows, bad_row: str, header: str = "emotion,pixels,Usage"):
    """Two good rows, then the bad one at line 4."""
    good = [f"{e},{p},Training" for e, p in fer_rows[:2]]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *good, bad_row]) + "\n")
    return path


@pytest.mark.parametrize("make_row, message", [
    (lambda p: f"3,{' '.join(p.split()[:-1])},Training", "expected 2304 pixels, found 2303"),
    (lambda p: f"3,{p.replace(' ', ' x', 1)},Training", "not an integer"),
    (lambda p: "3," + " ".join(["256", *p.split()[1:]]) + ",Training", "pixel values must lie in 0..255"),
    (lambda p: f"seven,{p},Training", "emotion 'seven' is not an integer"),
    (lambda p: f"7,{p},Training", "emotion 7 is outside 0..6"),
    (lambda p: f"-1,{p},Training", "emotion -1 is outside 0..6"),
    (lambda p: f"3,{p},Testing", "Usage 'Testing' is not one of"),
    (lambda p: f"3,{p}", "expected 3 columns"),
])
def test_malformed_csv_row_is_named(tmp_path, fer_rows, make_row, message):
    path = _csv_with_row(tmp_path, fer_rows, make_row(fer_rows[2][1]))
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert message in str(err.value)
    assert f"{path}: line 4" in str(err.value)


def test_bad_header_is_reported(tmp_path, fer_rows):
    path = _csv_with_row(tmp_path, fer_rows, f"3,{fer_rows[2][1]},Training", header="label,pixels,split")
    with pytest.raises(DataError, match="header must be 'emotion,pixels,Usage'"):
        load_dataset(path)


def test_corrupt_gzip_is_reported(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    with pytest.raises(DataError, match="cannot read"):
        load_dataset(path)


def test_missing_split_is_reported(tmp_path, fer_rows):
    path = write_fer_csv(tmp_path / "no-test.csv", fer_rows, {"Training": 20, "PublicTest": 5})
    with pytest.raises(DataError, match="no rows with Usage PrivateTest"):
        load_dataset(path)


def test_cli_reports_data_errors_without_a_traceback(tmp_path, fer_rows, capsys):
    path = _csv_with_row(tmp_path, fer_rows, f"9,{fer_rows[2][1]},Training")
    assert main(["train", str(path), "--output", str(tmp_path / "x.pt"), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "line 4" in err and "Traceback" not in err
    assert not (tmp_path / "x.pt").exists()


@pytest.fixture
def folders(tmp_path, fer_rows):
    return write_class_folders(tmp_path / "faces", fer_rows[:60], n_train=40)


def test_unreadable_image_is_named(folders):
    bad = folders / "train" / EMOTIONS[3] / "zz-broken.png"
    bad.parent.mkdir(exist_ok=True)
    bad.write_bytes(b"this is not a png")
    with pytest.raises(DataError, match="not a readable image") as err:
        load_dataset(folders)
    assert str(bad) in str(err.value)


def test_wrong_image_size_is_named(folders):
    bad = folders / "test" / EMOTIONS[0] / "zz-small.png"
    bad.parent.mkdir(exist_ok=True)
    Image.fromarray(np.zeros((40, 44), np.uint8)).save(bad)
    with pytest.raises(DataError, match="expected 48x48 pixels, found 44x40") as err:
        load_dataset(folders)
    assert str(bad) in str(err.value)


def test_unknown_class_folder_is_named(folders):
    unknown = folders / "train" / "contempt"
    unknown.mkdir()
    with pytest.raises(DataError, match="unknown class folder") as err:
        load_dataset(folders)
    assert str(unknown) in str(err.value)


def test_missing_test_folder_is_reported(tmp_path, fer_rows):
    root = write_class_folders(tmp_path / "faces", fer_rows[:30], n_train=30)
    with pytest.raises(DataError, match="test/ is missing"):
        load_dataset(root)
