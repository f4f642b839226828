"""The schedule policy per call, and lat.json through lat.read_settings / lat.write_settings."""
import numpy as np
import pytest

import lat
from conftest import TINY

TEXTS = [
    "a gorgeous, witty, seductive movie that stays with you long after the credits roll",
    "the plot makes no sense and the jokes fall flat, one after another, for two long hours",
    "it is dull",
    "",
]


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_call_at_speedup_s_equals_an_encoder_built_with_it(model_dir, precision):
    shared = lat.Encoder(model_dir, threads=2, precision=precision)
    for s in (1, 1.5, 2, 3, 4):
        fresh = lat.Encoder(model_dir, threads=2, precision=precision, speedup=s)
        np.testing.assert_array_equal(shared.embed(TEXTS, speedup=s), fresh.embed(TEXTS))
        np.testing.assert_array_equal(shared.encode(TEXTS, speedup=s), fresh.encode(TEXTS))
        a = shared.run([shared.tokenize(t) for t in TEXTS], speedup=s)
        b = fresh.run([fresh.tokenize(t) for t in TEXTS])
        assert [o.kept for o in a] == [o.kept for o in b]
        assert all(o.speedup == s for o in a)
        assert shared.policy(s) == fresh.info.policy


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_classify_per_call_on_a_classifier(precision):
    shared = lat.Encoder(TINY, threads=1, precision=precision)
    for s in (1, 1.5, 2, 3, 4):
        fresh = lat.Encoder(TINY, threads=1, precision=precision, speedup=s)
        mine, theirs = shared.classify(TEXTS, speedup=s), fresh.classify(TEXTS)
        for x, y in zip(mine, theirs):
            np.testing.assert_array_equal(x.logits, y.logits)
            assert x.kept == y.kept and x.speedup == s


def test_exponents_floor_and_whole_policies_per_call():
    encoder = lat.Encoder(TINY, threads=1)
    spare_first = [0.0, 1.0, 2.0, 3.0, 4.0]
    built = lat.Encoder(TINY, threads=1, speedup=2, exponents=spare_first, floor=0.25)
    got = encoder.classify(TEXTS, speedup=2, exponents=spare_first, floor=0.25)
    want = built.classify(TEXTS)
    assert [r.kept for r in got] == [r.kept for r in want]
    policy = lat.Policy(2.0, spare_first, 0.25)
    assert [r.kept for r in encoder.classify(TEXTS, policy=policy)] == [r.kept for r in want]
    with pytest.raises(ValueError, match="not both"):
        encoder.embed(TEXTS, speedup=2, policy=policy)
    with pytest.raises(lat.Error, match="speedup 0.5 must be a finite number >= 1"):
        encoder.embed(TEXTS, speedup=0.5)
    with pytest.raises(lat.Error, match="exponents give 2 values"):
        encoder.embed(TEXTS, exponents=[1.0, 2.0])
    with pytest.raises(lat.Error, match="floor"):
        lat.Policy(2.0, floor=1.5)


def test_settings_round_trip_and_the_curve_picks_exponents(tmp_path):
    s = lat.Settings()
    s.speedup, s.precision, s.floor = 2.0, "int8", 0.05
    one, two = lat.TunedPoint(), lat.TunedPoint()
    one.speedup, one.accuracy = 1.0, 90.0
    two.speedup, two.exponents, two.accuracy = 2.0, [0.0, 1.0, 1.5, 3.0, 5.0], 89.5
    s.curve = [one, two]
    path = tmp_path / "lat.json"
    lat.write_settings(path, s)
    r = lat.read_settings(path)
    assert (r.speedup, r.precision, r.floor) == (2.0, "int8", 0.05)
    assert [p.speedup for p in r.curve] == [1.0, 2.0] and r.curve[1].exponents == two.exponents
    assert r.exponents_for(2.0, 5) == two.exponents
    assert r.exponents_for(1.5, 5) == [0.5, 1.5, 2.25, 3.5, 5.0]
    path.write_text('{"version": 9}')
    with pytest.raises(lat.Error, match="version"):
        lat.read_settings(path)
