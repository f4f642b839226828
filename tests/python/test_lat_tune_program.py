"""The lat_tune program on a real set: its schedule search repeats exactly under a seed and a cap
on evaluations, --significance keeps no move that chance explains, and --rounds times every
schedule again."""
import json
import os
import subprocess

import pytest

from conftest import CLASSIFY, GOLDEN, unavailable

LAT_TUNE = CLASSIFY.parent / "lat_tune"
MODEL = GOLDEN / "families" / "mpnet"  # committed: a small MPNet classifier, labels red, green, blue


@pytest.fixture(scope="module")
def lat_tune():
    if not os.access(LAT_TUNE, os.X_OK):
        unavailable(f"{LAT_TUNE} is not built: build lat with cmake, or set LAT_CLASSIFY beside it")
    return LAT_TUNE


@pytest.fixture(scope="module")
def labelled(sst2_dev, tmp_path_factory):
    path = tmp_path_factory.mktemp("tune") / "set.tsv"
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t{i % 3}\n" for i, t in enumerate(sst2_dev[:48])),
                    encoding="utf-8")
    return path


def search(program, data, out, significance):
    log = subprocess.run(
        [str(program), "--model", str(MODEL), "--data", str(data), "--speedups", "1,2,3", "--threads", "1",
         "--batch", "16", "--search", "600", "--evaluations", "8", "--seed", "5", "--rounds", "0",
         "--significance", str(significance), "--out", str(out), "--plot", str(out.with_suffix(".svg"))],
        check=True, capture_output=True, text=True).stdout
    return log, json.loads(out.read_text(encoding="utf-8"))


def test_a_search_repeats_under_a_seed_and_a_cap(lat_tune, labelled, tmp_path):
    log, first = search(lat_tune, labelled, tmp_path / "a.json", 0)
    _, second = search(lat_tune, labelled, tmp_path / "b.json", 0)
    assert log.count("8 schedules tried") == 2
    assert "with exponents" in log  # moves are kept here, so the strict search below is a contrast
    assert first["search"] == {"seconds": 600, "evaluations": 8, "significance": 0, "seed": 5}
    strip = lambda curve: [(p["speedup"], p["accuracy"], p.get("exponents")) for p in curve]  # noqa: E731
    assert strip(first["curve"]) == strip(second["curve"])
    assert (tmp_path / "a.svg").read_text(encoding="utf-8").startswith("<svg")


def test_significance_keeps_no_move_that_chance_explains(lat_tune, labelled, tmp_path):
    # No move changes the labels of enough of 48 inputs to beat chance by 50 standard deviations.
    log, result = search(lat_tune, labelled, tmp_path / "strict.json", 50)
    assert "with exponents" not in log
    for point in result["curve"][1:]:
        assert "exponents" not in point


def test_rounds_time_every_schedule_against_the_dense_one(lat_tune, labelled, tmp_path):
    out = tmp_path / "timed.json"
    log = subprocess.run(
        [str(lat_tune), "--model", str(MODEL), "--data", str(labelled), "--speedups", "1,2,3", "--threads", "1",
         "--batch", "16", "--rounds", "2", "--out", str(out), "--plot", str(out.with_suffix(".svg"))],
        check=True, capture_output=True, text=True).stdout
    timed = log.split("timed again, medians of 2 passes:")[1].splitlines()[1:4]
    assert [float(line.split()[0]) for line in timed] == [1.0, 2.0, 3.0]
    curve = json.loads(out.read_text(encoding="utf-8"))["curve"]
    assert curve[0]["measured_speedup"] == 1.0
    assert all(0 < p["measured_speedup"] < 100 for p in curve)


def test_a_tuned_curve_is_what_calls_at_its_speedups_use(lat_tune, labelled, tmp_path):
    import lat

    out = tmp_path / "lat.json"
    search(lat_tune, labelled, out, 0)
    settings = lat.read_settings(out)  # lat's own reader: version 1, strict
    assert [p.speedup for p in settings.curve] == [1.0, 2.0, 3.0]
    assert all(p.accuracy is not None and p.inputs == 48 for p in settings.curve)
    encoder = lat.Encoder(MODEL, threads=1)
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == 1
    folder = tmp_path / "model"
    folder.mkdir()
    for f in MODEL.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "lat.json").write_bytes(out.read_bytes())
    tuned = lat.Encoder(folder, threads=1)
    for point in settings.curve:
        assert tuned.policy(point.speedup).exponents == point.exponents
        assert tuned.policy(point.speedup).floor == 0.05
    assert encoder.policy(2.0).exponents == []  # the folder without lat.json: geometric


def test_an_embedding_model_is_tuned_on_agreement_with_its_dense_embeddings(lat_tune, labelled, model_dir,
                                                                            tmp_path):
    out = tmp_path / "lat.json"
    log = subprocess.run(
        [str(lat_tune), "--model", str(model_dir), "--data", str(labelled), "--speedups", "1,1.5,3",
         "--threads", "1", "--batch", "16", "--rounds", "0", "--budget", "100", "--out", str(out),
         "--plot", str(out.with_suffix(".svg"))],
        check=True, capture_output=True, text=True).stdout
    assert "recall@10" in log and "cosine mean" in log
    curve = json.loads(out.read_text(encoding="utf-8"))["curve"]
    dense, mild, steep = curve
    assert dense["recall_at_10"] == 1.0 and dense["mean_cosine"] == pytest.approx(1.0)
    assert "accuracy" not in dense
    # Pruning moves the embeddings away from the dense ones, the more the faster.
    assert 1.0 > mild["mean_cosine"] > steep["mean_cosine"]
    assert mild["p5_cosine"] <= mild["mean_cosine"] and mild["recall_at_10"] > steep["recall_at_10"]
    assert json.loads(out.read_text(encoding="utf-8"))["speedup"] == 3  # a budget of 100 points
    bad = subprocess.run(
        [str(lat_tune), "--model", str(model_dir), "--data", str(labelled), "--search", "5", "--out",
         str(out)], capture_output=True, text=True)
    assert bad.returncode == 1 and "--search needs one" in bad.stderr
