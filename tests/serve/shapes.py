"""The answers' documented shapes, as JSON Schema.

TEI's are those of text-embeddings-inference's OpenAPI document (docs/openapi.json, version 1.7):
EmbedResponse, PredictResponse and Prediction, RerankResponse and Rank, SimilarityResponse,
TokenizeResponse and SimpleToken, DecodeResponse, Info, ErrorResponse. OpenAI's is the
CreateEmbeddingResponse of OpenAI's API reference (POST /v1/embeddings). lat's additions are
allowed beside them (additional properties), not in place of them.
"""

NUMBER = {"type": "number"}
FLOATS = {"type": "array", "items": NUMBER, "minItems": 1}
INDEX = {"type": "integer", "minimum": 0}

EMBED = {"type": "array", "items": FLOATS, "minItems": 1}

PREDICTION = {
    "type": "object",
    "required": ["score", "label"],
    "properties": {"score": NUMBER, "label": {"type": "string"}},
}
PREDICT = {
    "oneOf": [
        {"type": "array", "items": PREDICTION, "minItems": 1},
        {"type": "array", "items": {"type": "array", "items": PREDICTION, "minItems": 1}, "minItems": 1},
    ]
}

RANK = {
    "type": "object",
    "required": ["index", "score"],
    "properties": {"index": INDEX, "score": NUMBER, "text": {"type": ["string", "null"]}},
}
RERANK = {"type": "array", "items": RANK}

SIMILARITY = {"type": "array", "items": NUMBER}

SIMPLE_TOKEN = {
    "type": "object",
    "required": ["id", "text", "special"],
    "properties": {
        "id": INDEX,
        "text": {"type": "string"},
        "special": {"type": "boolean"},
        "start": {"type": ["integer", "null"], "minimum": 0},
        "stop": {"type": ["integer", "null"], "minimum": 0},
    },
}
TOKENIZE = {"type": "array", "items": {"type": "array", "items": SIMPLE_TOKEN}}

DECODE = {"type": "array", "items": {"type": "string"}}

CLASSIFIER_MODEL = {
    "type": "object",
    "required": ["id2label", "label2id"],
    "properties": {
        "id2label": {"type": "object", "additionalProperties": {"type": "string"}},
        "label2id": {"type": "object", "additionalProperties": INDEX},
    },
}
INFO = {
    "type": "object",
    "required": [
        "model_id", "model_dtype", "model_type", "max_concurrent_requests", "max_input_length",
        "max_batch_tokens", "max_client_batch_size", "auto_truncate", "tokenization_workers",
        "version",
    ],
    "properties": {
        "model_id": {"type": "string"},
        "model_sha": {"type": ["string", "null"]},
        "model_dtype": {"type": "string"},
        "model_type": {
            "oneOf": [
                {"type": "object", "required": ["classifier"], "properties": {"classifier": CLASSIFIER_MODEL}},
                {"type": "object", "required": ["embedding"],
                 "properties": {"embedding": {"type": "object", "required": ["pooling"],
                                              "properties": {"pooling": {"type": "string"}}}}},
                {"type": "object", "required": ["reranker"], "properties": {"reranker": CLASSIFIER_MODEL}},
            ]
        },
        "max_concurrent_requests": INDEX,
        "max_input_length": INDEX,
        "max_batch_tokens": INDEX,
        "max_batch_requests": {"type": ["integer", "null"], "minimum": 0},
        "max_client_batch_size": INDEX,
        "auto_truncate": {"type": "boolean"},
        "tokenization_workers": INDEX,
        "version": {"type": "string"},
        "sha": {"type": ["string", "null"]},
        "docker_label": {"type": ["string", "null"]},
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "error_type"],
    "properties": {"error": {"type": "string", "minLength": 1}, "error_type": {"type": "string", "minLength": 1}},
}

OPENAI_EMBEDDINGS = {
    "type": "object",
    "required": ["object", "data", "model", "usage"],
    "properties": {
        "object": {"const": "list"},
        "data": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["object", "embedding", "index"],
                "properties": {
                    "object": {"const": "embedding"},
                    "embedding": {"oneOf": [FLOATS, {"type": "string"}]},
                    "index": INDEX,
                },
            },
        },
        "model": {"type": "string"},
        "usage": {
            "type": "object",
            "required": ["prompt_tokens", "total_tokens"],
            "properties": {"prompt_tokens": INDEX, "total_tokens": INDEX},
        },
    },
}


def check(instance, schema):
    import jsonschema

    jsonschema.validate(instance, schema, cls=jsonschema.Draft202012Validator)
