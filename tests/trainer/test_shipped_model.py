"""The shipped emotion model, measured on the real FER-2013 PrivateTest split (never used to tune it)."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

from sentivis.settings import SHIPPED_MODEL
from toolkit.samples import FER_CSV
from trainer.evaluate import evaluate_file, per_class_markdown
from trainer.export import sibling_paths

MIN_TEST_ACCURACY = 0.68
PRIVATE_TEST_SIZE = 3589
MODEL_DOC = Path(__file__).resolve().parents[2] / "docs" / "MODEL.md"


@lru_cache(maxsize=1)
def private_test_report() -> dict:
    return evaluate_file(SHIPPED_MODEL, FER_CSV, split="PrivateTest")


def shipped_report() -> dict:
    # Called in the test body, so a missing model FAILS (never skips or errors): it must be shipped.
    if not SHIPPED_MODEL.is_file():
        pytest.fail(f"the shipped model {SHIPPED_MODEL} is missing; export one with "
                    f"`python -m trainer export CKPT --output {SHIPPED_MODEL}`")
    if not FER_CSV.is_file():
        pytest.fail(f"the real FER-2013 CSV is missing at {FER_CSV}")
    return private_test_report()


def test_shipped_model_accuracy_on_private_test():
    report = shipped_report()
    assert report["split"] == "PrivateTest" and report["samples"] == PRIVATE_TEST_SIZE
    assert report["accuracy"] >= MIN_TEST_ACCURACY, (
        f"PrivateTest accuracy {report['accuracy']:.4f} < {MIN_TEST_ACCURACY} (macro-F1 {report['macro_f1']:.4f})")


def test_shipped_model_card_matches_the_measurement():
    report = shipped_report()
    card_path = sibling_paths(SHIPPED_MODEL)["card"]
    assert card_path.is_file(), f"the model card {card_path} is missing"
    card = json.loads(card_path.read_text())
    test = card["metrics"]["test"]
    assert test["split"] == "PrivateTest" and test["samples"] == PRIVATE_TEST_SIZE
    assert card["data"]["checkpoint_selected_on"] == card["data"]["calibration_fitted_on"] == "PublicTest"
    assert test["accuracy"] == pytest.approx(report["accuracy"], abs=0.002)
    assert all(sibling_paths(SHIPPED_MODEL)[name].is_file() for name in ("confusion", "curves"))


def test_the_docs_per_class_table_is_the_cards():
    card = json.loads(sibling_paths(SHIPPED_MODEL)["card"].read_text())
    table = per_class_markdown(card["metrics"]["test"])
    assert len(table.splitlines()) == 2 + 7 + 1  # header, a row per emotion, the macro average
    assert table in MODEL_DOC.read_text(), f"docs/MODEL.md's per-class table is not the card's; it is now:\n{table}"
