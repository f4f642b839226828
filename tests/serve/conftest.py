"""lat-serve's tests: each module starts the servers it needs on free loopback ports, and stops them
with SIGTERM at its end, asserting exit status 0.

LAT_SERVE         the server program (default build/lat-serve)
LAT_TEST_MODEL    all-MiniLM-L6-v2 folder (default models/all-MiniLM-L6-v2; tools/fetch_model.sh)
LAT_TEST_DATA     the evaluation data folder (default data/; tools/fetch_data.sh)
LAT_TEST_STRICT   1: what a test needs and lacks fails it instead of skipping it (tools/test_serve.sh)
"""
import os
from pathlib import Path

import numpy as np
import pytest

from serve_harness import ROOT, Server, make_classifier

MODEL = Path(os.environ.get("LAT_TEST_MODEL", ROOT / "models" / "all-MiniLM-L6-v2"))
DATA = Path(os.environ.get("LAT_TEST_DATA", ROOT / "data"))
LAT_SERVE = Path(os.environ.get("LAT_SERVE", ROOT / "build" / "lat-serve"))

# Threads of every test server and of the reference encoders: the results do not depend on them,
# but two cores are all CI has.
THREADS = 2


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
def lat_serve():
    if not os.access(LAT_SERVE, os.X_OK):
        unavailable(f"{LAT_SERVE} is not built (cmake --build build --target lat-serve)")
    return LAT_SERVE


@pytest.fixture(scope="session")
def encoder(model_dir):
    import lat

    return lat.Encoder(model_dir, threads=THREADS)


@pytest.fixture(scope="session")
def sst2_dev():
    path = DATA / "sst2" / "dev.tsv"
    if not path.exists():
        unavailable(f"{path} is missing: run tools/fetch_data.sh")
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "sentence\tlabel"
    return [line.rsplit("\t", 1)[0] for line in lines[1:] if line]


@pytest.fixture(scope="session")
def imdb_test():
    path = DATA / "imdb" / "test.tsv"
    if not path.exists():
        unavailable(f"{path} is missing: run tools/fetch_data.sh")
    lines = path.read_text(encoding="utf-8").split("\n")
    return [line.rsplit("\t", 1)[0] for line in lines[1:201] if line]


@pytest.fixture(scope="session")
def classifier_dir(model_dir, tmp_path_factory):
    """all-MiniLM-L6-v2 with the SST-2 head (negative, positive) of benchmarks/minilm_classifier.py."""
    head = __import__("json").loads((ROOT / "tests" / "golden" / "minilm_sst2_head.json").read_text())
    out = tmp_path_factory.mktemp("minilm-sst2-head")
    make_classifier(model_dir, out, head["classifier.weight"], head["classifier.bias"], head["config"])
    return out


@pytest.fixture(scope="session")
def cross_encoder_dir(model_dir, tmp_path_factory):
    """A cross-encoder: all-MiniLM-L6-v2 with a seeded one-logit head (BertForSequenceClassification,
    num_labels 1), which scores a (query, text) pair."""
    import json

    config = json.loads((ROOT / "tests" / "golden" / "minilm_sst2_head.json").read_text())["config"]
    config = dict(config, architectures=["BertForSequenceClassification"],
                  id2label={"0": "LABEL_0"}, label2id={"LABEL_0": 0})
    rng = np.random.default_rng(26)
    weight = rng.normal(0.0, 0.2, size=(1, config["hidden_size"])).astype(np.float32)
    bias = np.array([0.1], dtype=np.float32)
    out = tmp_path_factory.mktemp("minilm-cross-encoder")
    make_classifier(model_dir, out, weight, bias, config)
    return out


@pytest.fixture(scope="module")
def server(lat_serve, model_dir):
    """The embedding server with the defaults, all-MiniLM-L6-v2 at fp32."""
    with Server(lat_serve, ["--model", str(model_dir), "--threads", str(THREADS)]) as s:
        yield s
