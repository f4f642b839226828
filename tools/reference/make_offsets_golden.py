#!/usr/bin/env python3
"""Writes the offsets and decode golden files: what Hugging Face tokenizers gives, for every
committed tokenizer, as the token offsets of the hard-case texts and pairs and as
decode(ids, skip_special_tokens) of their ids.

Needs only the tokenizers package (no torch, no transformers; the files were written with
tokenizers 0.23.3, whose decode gives normalized added tokens their normalized form). Run by
hand from the repository root:

    python3 -m venv .venv-ref && .venv-ref/bin/pip install tokenizers
    .venv-ref/bin/python tools/reference/make_offsets_golden.py --out tests/golden/offsets

Tokenizers:
  tests/golden/tokenizers/*, tests/golden/families/* (the same files: written once, listed for
      both), models/all-MiniLM-L6-v2 and models/all-mpnet-base-v2 (when fetched), and
      tests/golden/tiny-bert (vocab.txt: BERT's pipeline, as BertWordPieceTokenizer builds it);
  every variant of tests/golden/tokenizers/components.json (the normalizers, pre-tokenizers and
      models the families do not use), and the decoder variants below (the decoders they do not
      use).

Texts: the hard cases of tests/golden/tokenizers/*/hard_cases.json (BERT's hard cases and the
other families' ones) and their pairs, plus a few that move offsets (composition, reordering,
expansion, removal, multi-byte spaces). Singles at max_length 512 and 8, pairs at 512, 17 and
16, truncated longest-first as lat truncates (an empty second text is an empty second sequence).

Offsets are bytes of the UTF-8 text, as the Rust crate gives them by default (OffsetType::Byte).
Python's tokenizers reports characters: they are converted, which is exact because offsets before
trimming lie on character boundaries. Trimming (RobertaProcessing's and ByteLevel's
trim_offsets) counts characters and adds them to byte offsets in the Rust crate, so it is
applied here to the untrimmed byte offsets as the crate's process_offsets does, and checked
against the reference's character offsets wherever the two must agree (every trimmed character
one byte). Where they may not (a trimmed space of several bytes, e.g. one that normalization
made out of U+FDFA), the crate's byte offsets are written, and the count is printed.

Output: texts.json (the texts and pairs once), index.json (each folder or variant and its
golden file) and one file per distinct tokenizer: its cases (ids, byte offsets, decode with
and without special tokens) and extra id lists to decode.
"""
import argparse
import copy
import hashlib
import json
from pathlib import Path

from tokenizers import Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer

from make_tokenizer_golden import exact_backend as reference_backend, set_path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
KINDS = ["distilbert", "electra", "mpnet", "roberta", "xlmr", "modernbert"]
FAMILIES = ["distilbert", "electra", "mpnet", "roberta", "xlm-roberta", "modernbert", "modernbert-mean"]
SINGLE_LENGTHS = (512, 8)
PAIR_LENGTHS = (512, 17, 16)

# Texts whose offsets normalization moves.
OFFSET_CASES = [
    "e\u0301x a\u0301\u0316x \u1e0b\u0323 q\u0307\u0323 \u0301\u0301a",
    "\u3000lead\u3000and trail\u3000",
    "\ufdfa \u337f \uff76\uff9e \u2460",
    "\u01c4 \u01c5 \u01c6 \u0130 \u00df \ufb01",
    "\u200b\u200bab \ufeffcd\u00ad",
    "a  <mask>  b <mask>x [MASK] x[MASK]",
    "\u00e9\U0001F600 x  y",
]

WHITE_SPACE = set(map(chr, [*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                            0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))


def hard_texts():
    """The hard-case texts and pairs, as the families' hard_cases.json hold them."""
    texts, pairs = [], []
    for kind in KINDS:
        for c in json.loads((GOLDEN / "tokenizers" / kind / "hard_cases.json").read_text("utf-8")):
            if "pair" in c:
                if [c["text"], c["pair"]] not in pairs:
                    pairs.append([c["text"], c["pair"]])
            elif c["text"] not in texts:
                texts.append(c["text"])
    for t in OFFSET_CASES:
        if t not in texts:
            texts.append(t)
    return texts, pairs


def exact_backend(tokenizer_json):
    """make_tokenizer_golden.py's reference on a tokenizer.json text, without padding or
    truncation of its own."""
    backend = reference_backend(tokenizer_json)
    backend.no_padding()
    backend.no_truncation()
    return backend


def trim_steps(post):
    """The post-processor's offset trimming steps, in order: each one's add_prefix_space."""
    if not post:
        return []
    if post["type"] == "Sequence":
        return [s for p in post["processors"] for s in trim_steps(p)]
    if post["type"] in ("RobertaProcessing", "ByteLevel") and post.get("trim_offsets", True):
        return [post.get("add_prefix_space", True)]
    return []


def untrimmed(post):
    post = copy.deepcopy(post)
    if post and post["type"] == "Sequence":
        post["processors"] = [untrimmed(p) for p in post["processors"]]
    elif post and post["type"] in ("RobertaProcessing", "ByteLevel"):
        post["trim_offsets"] = False
    return post


TRIMMED = "".join(sorted(WHITE_SPACE)) + "\u0120"  # Rust's char::is_whitespace, and 'Ġ'


def process_offsets(token, offsets, i, add_prefix_space):
    """The Rust crate's byte_level::process_offsets on one token (the i-th of its sequence)."""
    start, stop = offsets
    leading = len(token) - len(token.lstrip(TRIMMED))
    trailing = len(token) - len(token.rstrip(TRIMMED))
    if leading > 0:
        if (i == 0 or start == 0) and add_prefix_space and leading == 1:
            leading = 0
        start = min(start + leading, stop)
    if trailing > 0 and stop >= trailing:
        stop = max(stop - trailing, start)
    return start, stop


def char_to_byte(text):
    at = [0]
    for ch in text:
        at.append(at[-1] + len(ch.encode("utf-8")))
    return at


class Counts:
    """Trimmed tokens checked against the reference, and those it could not be checked on."""
    def __init__(self):
        self.checked = 0
        self.multibyte = 0


def byte_offsets(encoding, texts, steps, untrimmed_encoding, counts):
    """The encoding's offsets as UTF-8 bytes of the text each token came from, trimmed as the
    Rust crate trims them."""
    out = []
    index = {}  # per sequence: tokens seen
    maps = [char_to_byte(t) for t in texts]
    ref = untrimmed_encoding if steps else encoding
    for k, (seq, (s, e)) in enumerate(zip(ref.sequence_ids, ref.offsets)):
        if seq is None:
            out += [0, 0]
            continue
        m = maps[seq]
        o = (m[s], m[e])
        i = index.get(seq, 0)
        index[seq] = i + 1
        if steps:
            token = ref.tokens[k]
            for add_prefix_space in steps:
                o = process_offsets(token, o, i, add_prefix_space)
            # Check against the reference's character offsets where bytes and characters trim
            # alike: every character the trimming passes over is one byte.
            rs, re_ = encoding.offsets[k]
            text = texts[seq]
            passed = text[s:rs] + text[re_:e] if rs >= s and re_ <= e else "?"
            if all(len(ch.encode("utf-8")) == 1 for ch in passed):
                counts.checked += 1
                if o != (m[rs], m[re_]):
                    raise SystemExit(f"trimming disagrees with the reference: {texts!r} token "
                                     f"{token!r}: {o} vs {(m[rs], m[re_])}")
            else:
                counts.multibyte += 1
        out += list(o)
    return out


def encode(backend, plain, steps, a, b, max_length, counts):
    def run(tok):
        tok.enable_truncation(max_length, strategy="longest_first")
        return tok.encode(a) if b is None else tok.encode(a, b)
    try:
        e = run(backend)
    except Exception as err:  # the reference refuses: lat is not held to an answer
        print(f"  reference refuses {a[:20]!r}/{(b or '')[:20]!r} at {max_length}: {err}")
        return None
    u = run(plain) if steps else None
    if u is not None:
        assert u.ids == e.ids
    texts = [a] if b is None else [a, b]
    return e.ids, byte_offsets(e, texts, steps, u, counts)


def decode(backend, ids, skip):
    """The reference's decode, or None where it panics (Strip past an empty token)."""
    try:
        return backend.decode(ids, skip_special_tokens=skip)
    except BaseException as err:  # pyo3's PanicException derives from BaseException
        print(f"  reference fails to decode {ids[:8]}...: {type(err).__name__}")
        return None


def golden_for(tokenizer_json, texts, pairs, which, every_length, decoding, extra_decodes=()):
    """Cases for one tokenizer, for the texts `which` lists and every pair: [text index or -1,
    pair index or -1, max_length, ids, offsets (start, stop, start, ...), decode(skip),
    decode(keep)]; decodes: [ids, decode(skip), decode(keep)]. Unless `every_length`, only the
    longest maximum length; unless `decoding`, no decodes."""
    parsed = json.loads(tokenizer_json)
    steps = trim_steps(parsed.get("post_processor"))
    backend = exact_backend(tokenizer_json)
    plain = None
    if steps:
        p = copy.deepcopy(parsed)
        p["post_processor"] = untrimmed(parsed["post_processor"])
        plain = exact_backend(json.dumps(p))
    counts = Counts()
    cases, decodes = [], []
    for ti in which:
        text = texts[ti]
        for n in SINGLE_LENGTHS if every_length else SINGLE_LENGTHS[:1]:
            r = encode(backend, plain, steps, text, None, n, counts)
            if r:
                cases.append([ti, -1, n, r[0], r[1]])
    for pi, (a, b) in enumerate(pairs):
        for n in PAIR_LENGTHS if every_length else PAIR_LENGTHS[:1]:
            r = encode(backend, plain, steps, a, b, n, counts)
            if r:
                cases.append([-1, pi, n, r[0], r[1]])
    if not decoding:
        return cases, decodes, counts
    for c in cases:
        c += [decode(backend, c[3], True), decode(backend, c[3], False)]
    # Ids out of the usual order: reversed, and with an id past the vocabulary (skipped).
    size = backend.get_vocab_size(with_added_tokens=True)
    for c in cases[:: max(1, len(cases) // 12)]:
        extra_decodes = [*extra_decodes, c[3][::-1], c[3][:3] + [size + 7] + c[3][3:]]
    for ids in extra_decodes:
        decodes.append([ids, decode(backend, ids, True), decode(backend, ids, False)])
    return cases, decodes, counts


# ---------------------------------------------------------------------------------------------
# Variants: components.json's, applied as make_tokenizer_golden.py applies them, and decoders.

def apply(base_json, change):
    j = copy.deepcopy(base_json)
    if change == "merges_as_strings":
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
        return j
    for path, value in change.items():
        if isinstance(value, dict) and "PRECOMPILED" in value.get("normalizers", []):
            value = copy.deepcopy(value)
            value["normalizers"] = [j["normalizer"] if n == "PRECOMPILED" else n
                                    for n in value["normalizers"]]
        set_path(j, path, value)
    return j


BYTE_TOKENS = ["<0xE2>", "<0x82>", "<0xAC>", "<0x41>", "<0xFF>", "<0x+A>"]


def decoder_variants():
    """Decoders the families do not use; the byte tokens are added to test ByteFallback."""
    replace = lambda pattern, content: {"type": "Replace", "pattern": pattern, "content": content}
    seq = lambda *d: {"type": "Sequence", "decoders": list(d)}
    llama = seq(replace({"String": "\u2581"}, " "), {"type": "ByteFallback"}, {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return [
        ("xlmr", "decoder_llama", {"/decoder": llama}),
        ("xlmr", "decoder_metaspace_never", {"/decoder/prepend_scheme": "never"}),
        ("xlmr", "decoder_metaspace_first", {"/decoder/prepend_scheme": "first"}),
        ("xlmr", "decoder_strip_both", {"/decoder": seq(
            {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always",
             "split": True},
            {"type": "Strip", "content": "a", "start": 2, "stop": 3})}),
        ("electra", "decoder_wordpiece_no_cleanup", {"/decoder/cleanup": False}),
        ("electra", "decoder_wordpiece_prefix", {"/decoder/prefix": "#"}),
        ("electra", "decoder_bpe", {"/decoder": {"type": "BPEDecoder", "suffix": "##"}}),
        ("electra", "decoder_ctc", {"/decoder": {"type": "CTC", "pad_token": "[PAD]",
                                                 "word_delimiter_token": "##", "cleanup": True}}),
        ("electra", "decoder_ctc_no_cleanup", {"/decoder": {
            "type": "CTC", "pad_token": "[UNK]", "word_delimiter_token": "|", "cleanup": False}}),
        ("electra", "decoder_replace_regex", {"/decoder": seq(
            {"type": "WordPiece", "prefix": "##", "cleanup": False},
            replace({"Regex": "\\s+"}, "_"), replace({"String": "."}, "<dot>"))}),
        ("roberta", "decoder_bytelevel_fuse_strip", {"/decoder": seq(
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
             "use_regex": True},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 1})}),
        ("roberta", "decoder_none", {"/decoder": None}),
    ]


def add_byte_tokens(j):
    """Adds the byte tokens after every id the tokenizer has; their ids."""
    next_id = Tokenizer.from_str(json.dumps(j)).get_vocab_size(with_added_tokens=True)
    ids = []
    for t in BYTE_TOKENS:
        j["added_tokens"].append({"id": next_id, "content": t, "single_word": False,
                                  "lstrip": False, "rstrip": False, "normalized": False,
                                  "special": False})
        ids.append(next_id)
        next_id += 1
    return ids


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_golden(path, cases, decodes):
    """One case a line: readable diffs."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"cases": [\n' + ",\n".join(json.dumps(c, ensure_ascii=False,
                                                       separators=(",", ":")) for c in cases))
        f.write('\n],\n"decodes": [\n' + ",\n".join(
            json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in decodes) + "\n]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/golden/offsets")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    texts, pairs = hard_texts()
    write_json(out / "texts.json", {"texts": texts, "pairs": pairs})
    index, written = [], {}

    every = list(range(len(texts)))

    def add(entry, name, tokenizer_json, config, extra_decodes=(), which=every, variant=None):
        key = hashlib.sha256((tokenizer_json + "\0" + config).encode("utf-8")).hexdigest()
        if key not in written:
            cases, decodes, counts = golden_for(
                tokenizer_json, texts, pairs, which, every_length=variant is None,
                decoding=variant is None or variant.startswith("decoder_"),
                extra_decodes=extra_decodes)
            write_golden(out / f"{name}.json", cases, decodes)
            written[key] = f"{name}.json"
            print(f"{name}: {len(cases)} cases, {len(decodes)} decodes"
                  + (f"; trimming checked on {counts.checked} tokens, {counts.multibyte} with "
                     f"multi-byte trimmed characters" if counts.checked else ""))
        index.append({**entry, "golden": written[key]})

    def folder(rel):
        d = ROOT / rel
        return ((d / "tokenizer.json").read_text("utf-8"),
                (d / "tokenizer_config.json").read_text("utf-8"))

    for kind in KINDS:
        add({"folder": f"tests/golden/tokenizers/{kind}"}, kind,
            *folder(f"tests/golden/tokenizers/{kind}"))
    for fam in FAMILIES:
        add({"folder": f"tests/golden/families/{fam}"}, f"family-{fam}",
            *folder(f"tests/golden/families/{fam}"))
    for model in ("all-MiniLM-L6-v2", "all-mpnet-base-v2"):
        if (ROOT / "models" / model / "tokenizer.json").exists():
            add({"folder": f"models/{model}"}, model, *folder(f"models/{model}"))
        else:
            print(f"models/{model} missing: not written")
    # vocab.txt: BERT's pipeline, with the casing tokenizer_config.json gives (transformers'
    # BertTokenizerFast builds the same).
    config = json.loads((GOLDEN / "tiny-bert" / "tokenizer_config.json").read_text("utf-8"))
    lower = config.get("do_lower_case", True)
    bert = BertWordPieceTokenizer(str(GOLDEN / "tiny-bert" / "vocab.txt"), lowercase=lower,
                                  strip_accents=config.get("strip_accents"))
    add({"folder": "tests/golden/tiny-bert"}, "tiny-bert", bert._tokenizer.to_str(), "")

    # Variants: the texts short enough that many tokenizers stay small.
    short = [i for i, t in enumerate(texts) if len(t) < 1000]
    components = json.loads((GOLDEN / "tokenizers" / "components.json").read_text("utf-8"))
    variants = [(v["base"], v["name"], v["set"]) for v in components["variants"]]
    for base, name, change in variants + decoder_variants():
        base_json = json.loads(folder(f"tests/golden/tokenizers/{base}")[0])
        j = apply(base_json, change)
        extra = []
        if name.startswith("decoder_"):
            ids = add_byte_tokens(j)
            change = {**change, "/added_tokens": j["added_tokens"]} if isinstance(change, dict) \
                else change
            e, c, a, f, x, p = ids
            extra = [[e, c, a], [a, e, c, a, f], [f, f, f], [x, p, e], [f, e], [e, c, a, 5]]
        add({"base": base, "name": name, "set": change}, f"variant-{name}",
            json.dumps(j), folder(f"tests/golden/tokenizers/{base}")[1], extra, short, name)
    write_json(out / "index.json", index)


if __name__ == "__main__":
    main()
