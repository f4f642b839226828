#!/usr/bin/env python3
"""Writes the tokenizer golden files: small tokenizers of each family lat runs, and what the
reference (Hugging Face tokenizers, and transformers' AutoTokenizer on top of it) makes of texts.

Run by hand from the repository root, with the reference tools installed (requirements.txt):

    .venv/bin/python tools/reference/make_tokenizer_golden.py --out tests/golden/tokenizers

Every tokenizer is trained here on the training splits of data/, then saved the way
transformers saves a model folder and loaded back through AutoTokenizer:

  roberta/      byte-level BPE, RobertaProcessing, <mask> with lstrip (RoBERTa's kind)
  xlmr/         SentencePiece Unigram (nmt_nfkc rule, so a Precompiled normalizer) and Metaspace,
                converted by transformers from the sentencepiece model (XLM-RoBERTa's kind)
  distilbert/   uncased WordPiece (DistilBERT's kind)
  electra/      cased WordPiece without accent stripping (ELECTRA's kind)
  mpnet/        uncased WordPiece with <s> </s> specials and RobertaProcessing (all-mpnet-base-v2's)
  modernbert/   byte-level BPE with [CLS] [SEP] specials and a template (ModernBERT's kind)

Each folder gets tokenizer.json and tokenizer_config.json (what transformers writes), and:
  token_ids_sst2_dev.txt, token_ids_imdb_test.txt   FNV-1a-64 of the ids of every text, truncated
                                                    to 512 tokens (as make_golden.py writes them)
  hard_cases.json                                   full ids and type ids of hand-made inputs:
                                                    singles at two lengths, pairs at several

The script checks that the tokenizers library, reading tokenizer.json alone, gives the same ids
as AutoTokenizer on every text: lat reads tokenizer.json, so the two references must agree.

components.json covers options the five families do not use: each entry names a base folder, the
tokenizer.json fields it replaces, and the ids the tokenizers library gives (no truncation) for
the hard cases and a slice of SST-2 dev (texts and pairs stored once). pair_truncation.json in
each folder holds AutoTokenizer's pairs cut at every length up to 32. With --keep-families the
script trains nothing and rewrites only these files.
"""
import argparse
import base64
import copy
import io
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors, trainers

from golden_texts import DATA, HARD_CASES as BERT_HARD_CASES, HARD_PAIRS as BERT_HARD_PAIRS
from golden_texts import encode_pair, fnv1a64, read_tsv

VOCAB_SIZE = 4000
MAX_LENGTH = 512


def read_texts(path):
    return [text for text, _ in read_tsv(path)]


def fnv1a64_bytes(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def training_texts():
    return read_texts(DATA / "sst2" / "train.tsv") + read_texts(DATA / "imdb" / "train.tsv")


LONG_WORDS = "pneumonoultramicroscopicsilicovolcanoconiosis" * 3
# make_golden.py's cases (BERT's), and those that test the other families' steps.
HARD_CASES = BERT_HARD_CASES + [
    " ",
    " Hello world",
    "Hello world ",
    "  two  leading and  double   spaces  ",
    "x" + "y" * 199,
    LONG_WORDS,
    "special <s> tokens </s> in <mask> text <unk> and <pad> and</s>glued <S>",
    "<s></s><mask><pad><unk>",
    "a<mask>b <mask> c  <mask>  d <mask>",
    "<mask>",
    " <mask>",
    "x <s>",
    "``quoted'' text with ``double backticks''",
    "it's I'm we've they'll you'd she's 'S 'RE SHE'S",
    "Ａ\u0301 ｶﾞ ﾊﾟ ① ℌ ǅ ㍿ ﷺ",
    "numbers 1234567 ½",
    "▁already▁has▁metaspace ▁",
    "new\nlines\n\nand  \n  spaces\t\t",
    "ĠĊ byte-level look-alikes",
    "\u0301leading mark",
    "hangul 한글 jamo \u1100\u1161\u11a8",
    " ".join(["word"] * 700),
]
HARD_PAIRS = BERT_HARD_PAIRS + [("<mask> is <s> here", "and </s> there")]


def hard_cases(tok, specials_pair):
    """Full ids of the hard inputs, as AutoTokenizer gives them."""
    cases = []
    for text in HARD_CASES:
        for max_length in (MAX_LENGTH, 8):
            e = tok(text, truncation=True, max_length=max_length, return_token_type_ids=True)
            cases.append({"text": text, "max_length": max_length, "ids": e["input_ids"],
                          "type_ids": e["token_type_ids"]})
    for a, b in HARD_PAIRS:
        for max_length in (MAX_LENGTH, 16, 17, specials_pair + 1, specials_pair):
            try:
                e = encode_pair(tok, a, b, truncation="longest_first", max_length=max_length,
                                return_token_type_ids=True)
            except Exception as err:  # the reference refuses: lat is not held to an answer
                print(f"  reference refuses pair at max_length {max_length}: {err}")
                continue
            cases.append({"text": a, "pair": b, "max_length": max_length, "ids": e["input_ids"],
                          "type_ids": e["token_type_ids"]})
    return cases


# ---------------------------------------------------------------------------------------------
# The five families.


def train_byte_level_bpe(texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def make_roberta(texts, out):
    from transformers import RobertaTokenizer
    from transformers import AddedToken as HfAddedToken
    vocab, merges = train_byte_level_bpe(texts)
    tok = RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=MAX_LENGTH,
                           mask_token=HfAddedToken("<mask>", lstrip=True, rstrip=False))
    tok.save_pretrained(out)


def make_xlmr(texts, out, work):
    import sentencepiece as spm
    from transformers import AutoTokenizer
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(texts), model_writer=model,
                                   vocab_size=VOCAB_SIZE, model_type="unigram",
                                   normalization_rule_name="nmt_nfkc", character_coverage=0.9995,
                                   input_sentence_size=200000, shuffle_input_sentence=True,
                                   seed_sentencepiece_size=200000, num_threads=2, minloglevel=3)
    src = work / "xlmr-spm"
    src.mkdir(parents=True, exist_ok=True)
    (src / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    (src / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": MAX_LENGTH}))
    tok = AutoTokenizer.from_pretrained(src)
    tok.save_pretrained(out)
    # The folder stands on tokenizer.json alone, as published XLM-R folders can.
    for extra in ("sentencepiece.bpe.model",):
        if (out / extra).exists():
            os.remove(out / extra)


def train_word_piece(texts, lowercase, strip_accents, specials):
    from tokenizers.implementations import BertWordPieceTokenizer
    tok = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=strip_accents)
    tok.train_from_iterator(texts, vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                            special_tokens=specials, wordpieces_prefix="##")
    return json.loads(tok._tokenizer.to_str())["model"]["vocab"]


def make_distilbert(texts, out):
    from transformers import DistilBertTokenizer
    vocab = train_word_piece(texts, True, None, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    DistilBertTokenizer(vocab=vocab, do_lower_case=True,
                        model_max_length=MAX_LENGTH).save_pretrained(out)


def make_electra(texts, out):
    from transformers import ElectraTokenizer
    vocab = train_word_piece(texts, False, False, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    ElectraTokenizer(vocab=vocab, do_lower_case=False, strip_accents=False,
                     model_max_length=MAX_LENGTH).save_pretrained(out)
    config = json.loads((out / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "ElectraTokenizer"
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False))


def make_mpnet(texts, out):
    from transformers import MPNetTokenizer
    vocab = train_word_piece(texts, True, None,
                             ["<s>", "<pad>", "</s>", "<unk>", "[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    MPNetTokenizer(vocab=vocab, do_lower_case=True, unk_token="[UNK]",
                   model_max_length=MAX_LENGTH).save_pretrained(out)


def make_modernbert(texts, out):
    """ModernBERT's kind: byte-level BPE without a prefix space, BERT's specials by name, and a
    template that marks the second text of a pair with type 1."""
    from transformers import PreTrainedTokenizerFast
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE, min_frequency=2, show_progress=False,
                                  special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                            pad_token="[PAD]", mask_token="[MASK]",
                            model_max_length=MAX_LENGTH).save_pretrained(out)


FAMILIES = {
    "roberta": make_roberta,
    "xlmr": make_xlmr,
    "distilbert": make_distilbert,
    "electra": make_electra,
    "mpnet": make_mpnet,
    "modernbert": make_modernbert,
}


def exact_backend(tokenizer_json):
    """The tokenizers library on a tokenizer.json text, with Unigram scores read as AutoTokenizer
    reads them. Tokenizer.from_str parses numbers with serde_json's fast reader, which may land
    one unit in the last place away from the nearest double; AutoTokenizer (transformers 5)
    hands the model Python's correctly rounded floats, and so does lat. The two readings break
    exact score ties differently on rare inputs."""
    backend = Tokenizer.from_str(tokenizer_json)
    model = json.loads(tokenizer_json)["model"]
    if model.get("type") == "Unigram":
        backend.model = models.Unigram([tuple(v) for v in model["vocab"]], model.get("unk_id"),
                                       model.get("byte_fallback", False))
    return backend


def check_backend_agrees(folder, tok, texts):
    """The tokenizers library on tokenizer.json alone gives AutoTokenizer's ids."""
    backend = exact_backend((folder / "tokenizer.json").read_text(encoding="utf-8"))
    backend.enable_truncation(MAX_LENGTH)
    ours = backend.encode_batch(texts)
    ref = tok(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
    bad = [t for t, a, b in zip(texts, ours, ref) if a.ids != b]
    if bad:
        raise SystemExit(f"{folder}: tokenizer.json and AutoTokenizer differ on {len(bad)} texts, "
                         f"e.g. {bad[0]!r}")


def write_cases(path, cases):
    """One case a line: small files, readable diffs."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")


def write_family(name, folder, work, train):
    from transformers import AutoTokenizer
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if name == "xlmr":
        FAMILIES[name](train, folder, work)
    else:
        FAMILIES[name](train, folder)
    for extra in ("vocab.txt", "vocab.json", "merges.txt", "special_tokens_map.json"):
        if (folder / extra).exists():
            os.remove(folder / extra)
    tok = write_family_cases(name, folder)
    print(f"{name}: {type(tok).__name__}, vocabulary {len(tok)}")
    return tok


def write_family_cases(name, folder):
    """The files written from a family's folder: the token id digests and hard_cases.json."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    for rel, out_name in (("sst2/dev.tsv", "token_ids_sst2_dev.txt"),
                          ("imdb/test.tsv", "token_ids_imdb_test.txt")):
        texts = read_texts(DATA / rel)
        check_backend_agrees(folder, tok, texts)
        ids = tok(texts, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        with open(folder / out_name, "w") as f:
            f.write(f"# {rel}: FNV-1a-64 of the little-endian int32 ids, max_length {MAX_LENGTH}\n")
            for row in ids:
                f.write(f"{fnv1a64(row):016x}\n")
    check_backend_agrees(folder, tok, [c for c in HARD_CASES])
    specials_pair = len(tok("", "x")["input_ids"]) - len(tok("x", add_special_tokens=False)["input_ids"])
    write_cases(folder / "hard_cases.json", hard_cases(tok, specials_pair))
    return tok


# ---------------------------------------------------------------------------------------------
# Component options the five families do not use: each variant replaces fields of a family's
# tokenizer.json ("/"-separated paths; a number indexes an array).

def variants():
    mask = "/added_tokens/4"  # roberta's <mask>
    bert_pre = {"type": "BertPreTokenizer"}
    return [
        ("roberta", "prefix_space", {"/pre_tokenizer/add_prefix_space": True}),
        ("roberta", "no_regex", {"/pre_tokenizer/use_regex": False}),
        ("roberta", "merges_as_strings", "merges_as_strings"),
        ("roberta", "ignore_merges", {"/model/ignore_merges": True}),
        ("roberta", "dropout_zero", {"/model/dropout": 0.0}),
        ("roberta", "unk", {"/pre_tokenizer": bert_pre, "/model/unk_token": "<unk>"}),
        ("roberta", "unk_fused", {"/pre_tokenizer": bert_pre, "/model/unk_token": "<unk>",
                                  "/model/fuse_unk": True}),
        ("roberta", "byte_fallback", {"/pre_tokenizer": bert_pre, "/model/unk_token": "<unk>",
                                      "/model/byte_fallback": True}),
        ("roberta", "no_unk", {"/pre_tokenizer": bert_pre}),
        ("roberta", "mask_rstrip", {mask + "/rstrip": True, mask + "/lstrip": False}),
        ("roberta", "mask_single_word", {mask + "/single_word": True}),
        ("roberta", "mask_normalized", {mask + "/normalized": True}),
        ("roberta", "byte_level_post", {"/post_processor": {
            "type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
            "use_regex": True}}),
        ("roberta", "sequence_post", {"/post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
             "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "</s>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}},
                      {"Sequence": {"id": "B", "type_id": 1}},
                      {"SpecialToken": {"id": "</s>", "type_id": 1}}],
             "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}]}}),
        ("xlmr", "metaspace_first", {"/pre_tokenizer/pretokenizers/1/prepend_scheme": "first"}),
        ("xlmr", "metaspace_never", {"/pre_tokenizer/pretokenizers/1/prepend_scheme": "never"}),
        ("xlmr", "metaspace_no_split", {"/pre_tokenizer": {
            "type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
            "split": False}}),
        ("xlmr", "nmt_precompiled", {"/normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Nmt"}, "PRECOMPILED"]}}),
        ("xlmr", "unigram_byte_fallback", {"/model/byte_fallback": True}),
        ("mpnet", "mask_flags", {"/added_tokens/0/lstrip": True, "/added_tokens/2/rstrip": True,
                                 "/added_tokens/3/single_word": True}),
    ] + normalizer_variants() + pre_tokenizer_variants()


def sequence(kind, *steps):
    key = "normalizers" if kind == "normalizer" else "pretokenizers"
    return {"type": "Sequence", key: list(steps)}


def normalizer_variants():
    """Normalizers on RoBERTa's byte-level BPE, which keeps every byte, and on XLM-R's Unigram."""
    n = "/normalizer"
    variants = [("roberta", form.lower(), {n: {"type": form}})
                for form in ("NFC", "NFD", "NFKC", "NFKD")]
    replace = lambda pattern, content: {"type": "Replace", "pattern": pattern, "content": content}
    variants += [
        ("roberta", "lowercase", {n: {"type": "Lowercase"}}),
        ("roberta", "strip_accents", {n: {"type": "StripAccents"}}),
        ("roberta", "nfd_strip_accents_lowercase", {n: sequence(
            "normalizer", {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"})}),
        ("roberta", "replace_string", {n: sequence(
            "normalizer", replace({"String": "``"}, '"'), replace({"String": "''"}, '"'))}),
        ("roberta", "replace_spaces", {n: replace({"Regex": " {2,}"}, " ")}),
        ("roberta", "replace_whitespace", {n: replace({"Regex": "\\s+"}, " ")}),
        ("roberta", "strip_both", {n: {"type": "Strip", "strip_left": True, "strip_right": True}}),
        ("roberta", "strip_left", {n: {"type": "Strip", "strip_left": True, "strip_right": False}}),
        ("roberta", "strip_right", {n: {"type": "Strip", "strip_left": False, "strip_right": True}}),
        ("roberta", "prepend", {n: {"type": "Prepend", "prepend": "\u0120"}}),
        # transformers' SentencePiece converters, and Llama's form (no pre-tokenizer).
        ("xlmr", "replace_spaces_precompiled", {n: sequence(
            "normalizer", replace({"Regex": " {2,}"}, " "), "PRECOMPILED")}),
        ("xlmr", "prepend_replace", {n: sequence(
            "normalizer", {"type": "Prepend", "prepend": "\u2581"},
            replace({"String": " "}, "\u2581")), "/pre_tokenizer": None}),
    ]
    return variants


def pre_tokenizer_variants():
    """Pre-tokenizers on ELECTRA's cased WordPiece, and GPT-2's Split on RoBERTa's BPE."""
    p = "/pre_tokenizer"
    ws = {"type": "WhitespaceSplit"}
    behaviors = ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous")
    split = lambda pattern, behavior, invert=False: {
        "type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert}
    variants = [("electra", "whitespace", {p: {"type": "Whitespace"}})]
    variants += [("electra", "punctuation_" + b.lower(), {p: sequence(
        "pre_tokenizer", ws, {"type": "Punctuation", "behavior": b})}) for b in behaviors]
    variants += [("electra", "split_" + b.lower(), {p: sequence(
        "pre_tokenizer", ws, split({"String": "e"}, b))}) for b in behaviors]
    variants += [
        ("electra", "digits_individual", {p: sequence(
            "pre_tokenizer", ws, {"type": "Digits", "individual_digits": True})}),
        ("electra", "digits_contiguous", {p: sequence(
            "pre_tokenizer", ws, {"type": "Digits", "individual_digits": False})}),
        ("electra", "split_string_inverted", {p: sequence(
            "pre_tokenizer", ws, split({"String": "e"}, "Isolated", True))}),
        ("electra", "split_whitespace_regex", {p: split({"Regex": "\\s+"}, "Removed")}),
        ("electra", "split_spaces_inverted", {p: split({"Regex": " {2,}"}, "Contiguous", True)}),
        ("electra", "split_words_regex", {p: split({"Regex": "\\w+|[^\\w\\s]+"}, "Removed",
                                                   True)}),
        ("electra", "char_delimiter", {p: {"type": "CharDelimiterSplit", "delimiter": " "}}),
        ("roberta", "split_gpt2", {p: sequence(
            "pre_tokenizer",
            split({"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
                            "\\s+(?!\\S)|\\s+"}, "Isolated"),
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False})}),
    ]
    return variants


def set_path(obj, path, value):
    keys = path.strip("/").split("/")
    for k in keys[:-1]:
        obj = obj[int(k)] if isinstance(obj, list) else obj[k]
    last = keys[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value


def with_precompiled(value, precompiled):
    """"PRECOMPILED" in a Sequence stands for the base's own Precompiled normalizer (its charsmap
    is not repeated in components.json)."""
    if not isinstance(value, dict) or "PRECOMPILED" not in value.get("normalizers", []):
        return value
    value = copy.deepcopy(value)
    value["normalizers"] = [precompiled if n == "PRECOMPILED" else n
                            for n in value["normalizers"]]
    return value


def compact(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_components(out):
    """components.json: the texts and pairs once, then each variant's ids for them (singles
    have type ids 0)."""
    texts = HARD_CASES[:-1] + read_texts(DATA / "sst2" / "dev.tsv")[:10]
    pairs = [[a, b] for a, b in HARD_PAIRS if a and b]
    entries = []
    for base, name, change in variants():
        tokenizer_json = json.loads((out / base / "tokenizer.json").read_text(encoding="utf-8"))
        if change == "merges_as_strings":  # the older form of merges: "a b"
            tokenizer_json["model"]["merges"] = [" ".join(m) for m in
                                                 tokenizer_json["model"]["merges"]]
        else:
            for path, value in change.items():
                set_path(tokenizer_json, path,
                         with_precompiled(value, tokenizer_json.get("normalizer")))
        ref = exact_backend(json.dumps(tokenizer_json))
        ids = []
        for text in texts:
            e = ref.encode(text)
            assert not any(e.type_ids), (name, text)
            ids.append(e.ids)
        pair_ids, pair_type_ids = [], []
        for a, b in pairs:
            e = ref.encode(a, b)
            pair_ids.append(e.ids)
            pair_type_ids.append(e.type_ids)
        entries.append({"name": name, "base": base, "set": change, "ids": ids,
                        "pair_ids": pair_ids, "pair_type_ids": pair_type_ids})
        print(f"component variant {base}/{name}")
    with open(out / "components.json", "w", encoding="utf-8") as f:
        f.write('{"texts": ' + compact(texts) + ',\n"pairs": ' + compact(pairs) +
                ',\n"variants": [\n' + ",\n".join(compact(e) for e in entries) + "\n]}\n")


# Pairs cut at every length from the special tokens alone up: odd and even, both texts long,
# one long.
SWEEP_PAIRS = [
    (" ".join(["alpha"] * 30), " ".join(["beta"] * 30)),
    (" ".join(["alpha"] * 30), " ".join(["beta"] * 5)),
    (" ".join(["alpha"] * 5), " ".join(["beta"] * 30)),
    (" ".join(["alpha"] * 25), " ".join(["beta"] * 26)),
    ("What is the capital of France?", "Paris is the capital of France, and its largest city."),
]


def write_pair_truncation(folder):
    """pair_truncation.json: AutoTokenizer's tokenizer(a, b, truncation=True, max_length=n), as
    [pair index, n, ids, type ids]."""
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(folder)
    specials = len(tok("", "x")["input_ids"]) - len(tok("x", add_special_tokens=False)["input_ids"])
    cases = []
    for a, b in SWEEP_PAIRS:
        for max_length in range(specials, 33):
            e = encode_pair(tok, a, b, truncation=True, max_length=max_length, return_token_type_ids=True)
            cases.append([SWEEP_PAIRS.index((a, b)), max_length, e["input_ids"],
                          e["token_type_ids"]])
    with open(folder / "pair_truncation.json", "w", encoding="utf-8") as f:
        f.write('{"pairs": ' + compact(SWEEP_PAIRS) + ',\n"cases": [\n' +
                ",\n".join(compact(c) for c in cases) + "\n]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/golden/tokenizers")
    ap.add_argument("--only", nargs="*", help="families to rewrite (default: all)")
    ap.add_argument("--keep-families", action="store_true",
                    help="train nothing: rewrite only the files written from existing folders")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not args.keep_families:
        train = training_texts()
        with tempfile.TemporaryDirectory() as work:
            for name in args.only or FAMILIES:
                write_family(name, out / name, Path(work), train)
    for name in FAMILIES:
        if args.keep_families:
            write_family_cases(name, out / name)
        write_pair_truncation(out / name)
    write_components(out)


if __name__ == "__main__":
    main()
