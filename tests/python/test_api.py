"""The Python API: results, options, errors as lat.Error, zero-shot, encode, threads."""
import gc
import threading

import numpy as np
import pytest

import lat
from conftest import TINY


def test_embed_returns_float32_rows_in_order(minilm):
    texts = ["a gorgeous film", "it is dull", ""]
    v = minilm.embed(texts)
    assert v.dtype == np.float32 and v.shape == (3, 384) and v.flags.c_contiguous
    one = np.stack([minilm.embed([t])[0] for t in texts])
    np.testing.assert_allclose(v, one, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, 384)


def test_embed_takes_any_iterable_of_texts_but_not_one_text(minilm):
    texts = ("one text", "another")
    a = minilm.embed(texts)
    np.testing.assert_array_equal(a, minilm.embed(t for t in texts))
    np.testing.assert_array_equal(a, minilm.embed(np.array(texts, dtype=object)))
    np.testing.assert_array_equal(a, minilm.embed([t.encode() for t in texts]))
    with pytest.raises(TypeError, match="one text"):
        minilm.embed("one text")
    with pytest.raises(TypeError, match="str or bytes"):
        minilm.embed([1, 2])


def test_info_and_schedule(minilm):
    info = minilm.info
    assert (info.layers, info.hidden, info.heads, info.model_type) == (6, 384, 12, "bert")
    assert info.threads == 2 and info.max_length == 512 and info.precision == "fp32"
    assert not info.classifier
    s = minilm.schedule(40)
    assert s.keep == [40] * 6 and s.predicted == 1.0 and s.reached


def test_schedule_options_exponents_floor_and_batch():
    spare_first = [0.0, 1.0, 2.0, 3.0, 4.0]  # one per layer of the tiny model
    encoder = lat.Encoder(TINY, threads=1, speedup=2.0, exponents=spare_first, floor=0.25)
    assert encoder.info.policy.exponents == spare_first and encoder.info.policy.floor == 0.25
    s = encoder.schedule(40)
    assert s.keep[0] == 40 and min(s.keep) >= 10 and s.predicted >= 2.0
    calibrated = lat.Encoder(TINY, threads=1, speedup=2.0, cost=lat.CostModel(40.0))
    assert calibrated.schedule(40, batch=8).keep[-1] >= calibrated.schedule(40).keep[-1]
    with pytest.raises(lat.Error, match="floor"):
        lat.Encoder(TINY, floor=1.0)
    with pytest.raises(lat.Error, match="exponents"):
        lat.Encoder(TINY, exponents=[2.0, 1.0])


def test_classify_with_a_classifier_head():
    encoder = lat.Encoder(TINY, threads=1)
    assert encoder.info.classifier and encoder.info.labels == ["red", "green", "blue"]
    results = encoder.classify(["the cat sat on the mat", "a dog"])
    assert len(results) == 2
    for r in results:
        assert r.label_name == encoder.info.labels[r.label]
        assert r.probs.dtype == np.float32 and r.probs.shape == (3,)
        assert abs(float(r.probs.sum()) - 1.0) < 1e-5
        assert int(np.argmax(r.logits)) == r.label
        assert r.truncated is False and r.ms > 0 and len(r.kept) == encoder.info.layers
    assert (results[0].tokens, results[1].tokens) == (9, 4)  # as tests/consumer prints them


def test_result_arrays_are_read_only_views_that_keep_their_result_alive():
    encoder = lat.Encoder(TINY, threads=1)
    probs = encoder.classify(["the cat sat on the mat"])[0].probs
    gc.collect()
    assert probs.shape == (3,) and abs(float(probs.sum()) - 1.0) < 1e-5
    with pytest.raises(ValueError):
        probs[0] = 1.0
    hidden = encoder.run([encoder.tokenize("a dog")])[0].hidden
    gc.collect()
    assert hidden.shape == (4, encoder.info.hidden) and np.isfinite(hidden).all()


def test_precision_and_speedup_options(model_dir):
    texts = ["a gorgeous film that stays with you", "the plot makes no sense"]
    dense = lat.Encoder(model_dir, threads=2).embed(texts)
    int8 = lat.Encoder(model_dir, threads=2, precision="int8")
    assert int8.info.precision == "int8"
    cosine = (int8.embed(texts) * dense).sum(axis=1)
    assert (cosine > 0.97).all(), cosine
    fast = lat.Encoder(model_dir, threads=2, speedup=1.5)
    assert fast.info.policy.speedup == 1.5
    # int8-static runs on ranges calibrated offline, which this folder's lat.json lacks.
    with pytest.raises(lat.Error, match="'int8_static' is missing.*lat_tune --precision int8-static"):
        lat.Encoder(TINY, threads=1, precision="int8-static")
    with pytest.raises(lat.Error, match="fp32, bf16, int8 or int8-static"):
        lat.Encoder(TINY, threads=1, precision="int4")


def test_trace_reports_every_layer():
    encoder = lat.Encoder(TINY, threads=1, speedup=2.0, trace=True)
    r = encoder.classify(["the cat sat on the mat the cat sat on the mat"])[0]
    assert len(r.trace) == encoder.info.layers
    assert [len(t.positions) for t in r.trace] == r.kept
    assert r.trace[0].acc.shape == (r.tokens,)


def test_zero_shot_keeps_its_encoder_alive(model_dir):
    encoder = lat.Encoder(model_dir, threads=2)
    zs = lat.ZeroShotClassifier(
        encoder,
        {"sports": "This text is about sports.", "cooking": "This text is about cooking food."},
    )
    del encoder
    gc.collect()
    r = zs.classify(
        ["The striker scored twice in the final match.",
         "Whisk the eggs and bake the cake for 30 minutes."]
    )
    assert [x.label_name for x in r] == ["sports", "cooking"]
    assert zs.labels == ["sports", "cooking"]
    pairs = lat.ZeroShotClassifier(lat.Encoder(model_dir, threads=1), [("a", "x"), ("b", "y")])
    assert pairs.descriptions == ["x", "y"]


@pytest.mark.parametrize(
    "make, code, message",
    [
        (lambda m: lat.Encoder("/no/such/folder"), "io", "/no/such/folder: model folder does not exist"),
        (lambda m: lat.Encoder(m, speedup=0.5), "option", "speedup 0.5 must be a finite number >= 1"),
        (lambda m: lat.Encoder(m, threads=0), "option", "threads 0 must lie in [1, 4096]"),
        (lambda m: lat.Encoder(m, precision="fp16"), "option", "precision 'fp16'"),
        (lambda m: lat.Encoder(m, max_length=1), "option", "max_length 1"),
        (lambda m: lat.Encoder(m).classify(["x"]), "unsupported", "no classifier head"),
        (lambda m: lat.Encoder(m).embed([b"ok", b"bad \xff byte"]), "input", "text 1"),
        (lambda m: lat.Encoder(m).run([lat.Encoding([101, 10**6, 102])]), "input",
         "token id 1000000 at position 1 is outside the vocabulary"),
        (lambda m: lat.Encoder(m).run([lat.Encoding([])]), "input", "input 0: no token ids"),
        (lambda m: lat.ZeroShotClassifier(lat.Encoder(m), {"only": "one"}), "option", "two labels"),
    ],
)
def test_errors_arrive_as_lat_error(model_dir, make, code, message):
    with pytest.raises(lat.Error) as info:
        make(model_dir)
    assert info.value.code == code
    assert message in str(info.value)
    assert info.value.message == str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_encode_keeps_the_input_order(minilm, sst2_dev):
    texts = sst2_dev[:70]
    v = minilm.encode(texts, batch_size=16)
    assert v.shape == (70, 384) and v.dtype == np.float32
    direct = np.stack([minilm.embed([t])[0] for t in texts])
    np.testing.assert_allclose(v, direct, atol=1e-5)
    listed = minilm.encode(texts[:5], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 5
    np.testing.assert_allclose(np.stack(listed), direct[:5], atol=1e-5)
    one = minilm.encode(texts[3])
    assert one.shape == (384,)
    np.testing.assert_allclose(one, direct[3], atol=1e-5)
    normalized = minilm.encode(texts[:4], normalize_embeddings=True, show_progress_bar=True)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        minilm.encode(texts, batch_size=0)


def test_two_threads_share_one_encoder(model_dir, sst2_dev):
    encoder = lat.Encoder(model_dir, threads=1)
    batches = [sst2_dev[i * 16 : (i + 1) * 16] for i in range(6)]
    serial = [encoder.embed(b) for b in batches]
    results = [[None] * len(batches) for _ in range(2)]
    errors = []

    def work(t):
        try:
            for round_ in range(2):
                for i in range(t, len(batches) + t):
                    j = i % len(batches)
                    results[t][j] = encoder.embed(batches[j])
        except Exception as e:  # reported below: an exception in a thread would pass silently
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for t in range(2):
        for j in range(len(batches)):
            np.testing.assert_array_equal(results[t][j], serial[j])


def test_the_kernel_cache_holds_what_it_is_given(minilm, sst2_dev):
    before = lat.kernel_cache_capacity()
    assert before == 16384
    with pytest.raises(lat.Error, match="kernel cache"):
        lat.set_kernel_cache_capacity(-1)
    try:
        lat.set_kernel_cache_capacity(2)
        assert lat.kernel_cache_capacity() == 2
        # Kernels evicted are compiled again: the results do not change.
        want = minilm.embed(sst2_dev[:3])
        got = np.stack([minilm.embed([t])[0] for t in sst2_dev[:3]])
        np.testing.assert_allclose(got, want, atol=1e-5)
        np.testing.assert_array_equal(minilm.embed(sst2_dev[:3]), want)
    finally:
        lat.set_kernel_cache_capacity(before)
    assert lat.kernel_cache_capacity() == before
