"""Where the Python tests find the model, the golden files, the data and the C++ programs.

LAT_TEST_MODEL    all-MiniLM-L6-v2 folder (default models/all-MiniLM-L6-v2; tools/fetch_model.sh)
LAT_TEST_DATA     the evaluation data folder (default data/; tools/fetch_data.sh)
LAT_CLASSIFY      the C++ classify program (default build/classify)
LAT_TEST_STRICT   1: what a test needs and lacks fails it instead of skipping it (tools/test_python.sh)
"""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
TINY = GOLDEN / "tiny-bert"  # committed: a classifier with labels red, green, blue


def _path(variable, default):
    return Path(os.environ.get(variable, default))


MODEL = _path("LAT_TEST_MODEL", ROOT / "models" / "all-MiniLM-L6-v2")
DATA = _path("LAT_TEST_DATA", ROOT / "data")
CLASSIFY = _path("LAT_CLASSIFY", ROOT / "build" / "classify")


def unavailable(reason):
    """Skips a test that lacks what it needs, or under LAT_TEST_STRICT=1 fails it."""
    if os.environ.get("LAT_TEST_STRICT") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def model_dir():
    if not (MODEL / "model.safetensors").exists():
        unavailable(f"{MODEL} has no model.safetensors: run tools/fetch_model.sh")
    return MODEL


@pytest.fixture(scope="session")
def minilm(model_dir):
    import lat

    return lat.Encoder(model_dir, threads=2, max_length=512)


@pytest.fixture(scope="session")
def sst2_dev():
    path = DATA / "sst2" / "dev.tsv"
    if not path.exists():
        unavailable(f"{path} is missing: run tools/fetch_data.sh")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "sentence\tlabel"
    return [line.rsplit("\t", 1)[0] for line in lines[1:] if line]
