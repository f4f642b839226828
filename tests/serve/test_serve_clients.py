"""Clients that lat did not write, used unchanged: the openai package's embeddings.create and
huggingface_hub's InferenceClient(base_url).feature_extraction. Their embeddings equal
lat.Encoder.embed within 1e-6 at fp32."""
import base64

import numpy as np
import pytest

from serve_harness import Server

TEXTS = [
    "A warm, funny and beautifully acted film that stays with you.",
    "The plot makes no sense and the jokes fall flat.",
    "ok",
    "Ünïcödé, emoji 🎬 and CJK 電影 all tokenize.",
]
TOL = 1e-6


def openai_client(server, api_key="lat"):
    import openai

    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=api_key, max_retries=0, timeout=60)


@pytest.mark.parametrize("encoding_format", ["float", "base64", None])
def test_openai_embeddings_equal_embed(server, encoder, encoding_format):
    client = openai_client(server)
    kwargs = {} if encoding_format is None else {"encoding_format": encoding_format}
    # None: the package itself asks for base64 and decodes it, as its users get by default.
    r = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS, **kwargs)
    assert r.object == "list"
    assert [d.index for d in r.data] == list(range(len(TEXTS)))
    assert all(d.object == "embedding" for d in r.data)
    if encoding_format == "base64":  # asked for explicitly, the package hands the text over as it came
        got = np.stack([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in r.data])
    else:
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
    want = encoder.embed(TEXTS)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= TOL
    tokens = sum(len(encoder.tokenize(t).ids) for t in TEXTS)
    assert r.usage.prompt_tokens == tokens
    assert r.usage.total_tokens == tokens


def test_openai_one_string(server, encoder):
    r = openai_client(server).embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS[0],
                                                encoding_format="float")
    assert len(r.data) == 1
    assert np.abs(np.array(r.data[0].embedding, dtype=np.float32) - encoder.embed(TEXTS[:1])[0]).max() <= TOL


def test_openai_token_ids(server, encoder):
    """input as token ids, as OpenAI takes them: the ids are encoded as given."""
    ids = encoder.tokenize(TEXTS[1]).ids
    r = openai_client(server).embeddings.create(model="all-MiniLM-L6-v2", input=[ids], encoding_format="float")
    assert np.abs(np.array(r.data[0].embedding, dtype=np.float32) - encoder.embed(TEXTS[1:2])[0]).max() <= TOL


def test_openai_dimensions(server, encoder):
    """dimensions: the first d values of the embedding, normalized again (Matryoshka, as OpenAI and
    TEI give them)."""
    r = openai_client(server).embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS[:2], dimensions=64,
                                                encoding_format="float")
    got = np.array([d.embedding for d in r.data], dtype=np.float32)
    want = encoder.embed(TEXTS[:2])[:, :64]
    want /= np.linalg.norm(want, axis=1, keepdims=True)
    assert got.shape == (2, 64)
    assert np.abs(got - want).max() <= TOL


def test_huggingface_hub_feature_extraction(server, encoder):
    from huggingface_hub import InferenceClient

    client = InferenceClient(base_url=server.url, timeout=60)
    one = client.feature_extraction(TEXTS[0])
    assert one.dtype == np.float32
    assert np.abs(one.reshape(-1) - encoder.embed(TEXTS[:1])[0]).max() <= TOL
    many = client.feature_extraction(TEXTS)
    assert many.shape == (len(TEXTS), 384)
    assert np.abs(many - encoder.embed(TEXTS)).max() <= TOL


@pytest.fixture(scope="module")
def key_server(lat_serve, model_dir):
    with Server(lat_serve, ["--model", model_dir, "--threads", "2", "--api-key", "s3cret-key"]) as s:
        yield s


def test_clients_with_api_key(key_server, encoder):
    import openai
    from huggingface_hub import InferenceClient
    from huggingface_hub.errors import HfHubHTTPError

    r = openai_client(key_server, api_key="s3cret-key").embeddings.create(model="m", input=TEXTS[:1])
    assert np.abs(np.array(r.data[0].embedding, dtype=np.float32) - encoder.embed(TEXTS[:1])[0]).max() <= TOL
    with pytest.raises(openai.AuthenticationError) as e:
        openai_client(key_server, api_key="wrong").embeddings.create(model="m", input=TEXTS[:1])
    assert e.value.status_code == 401
    got = InferenceClient(base_url=key_server.url, api_key="s3cret-key").feature_extraction(TEXTS[0])
    assert np.abs(got.reshape(-1) - encoder.embed(TEXTS[:1])[0]).max() <= TOL
    with pytest.raises(HfHubHTTPError) as e:
        InferenceClient(base_url=key_server.url, api_key="wrong").feature_extraction(TEXTS[0])
    assert e.value.response.status_code == 401
