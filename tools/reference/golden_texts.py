"""The texts every golden file is made from, and how the reference reads them; no torch, so that
the tokenizer goldens need only tokenizers and transformers."""
import struct
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0] == "sentence\tlabel", path
    return [line.rsplit("\t", 1) for line in lines[1:] if line]


def fnv1a64(ids):
    h = 0xCBF29CE484222325
    for b in struct.pack(f"<{len(ids)}i", *ids):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


HARD_CASES = [
    "",
    "   ",
    "Hello, World!",
    "Héllo wörld, ÅNGSTRÖM café naïve résumé",
    "İstanbul'da büyük Ölçü ß ẞ ﬁ ligature",
    "中文字符测试，日本語のテキスト、한국어 텍스트",
    "mixed中文and English混合",
    "emoji 😀 🥰 👍🏽 🧑‍💻 ❤️ and flags 🇫🇷",
    "control\x00chars\x01here\x7f and\u200bzero\u200dwidth \ufeffbom \u00adsoft\u00adhyphen",
    "tabs\tand\nnewlines\r\nand\u3000ideographic\u00a0nbsp\u2028separators",
    "a" * 99,
    "b" * 100,
    "c" * 101,
    "supercalifragilisticexpialidocious antidisestablishmentarianism " * 3,
    "special [CLS] tokens [SEP] in [MASK] text [UNK] and [PAD] and[SEP]glued [cls]",
    "punctuation!!! ... ?!? -- (brackets) [square] {curly} \"quotes\" 'single' «guillemets» „low“",
    "math ∑ ∫ ≈ ≠ ± × ÷ and currency $ € £ ¥ ₹ and symbols © ® ™ § ¶",
    "Ελληνικά Русский текст עברית العربية हिन्दी ไทย",
    "combining: e\u0301 a\u0308 o\u0302\u0323 n\u0303 and precomposed é ä ộ ñ",
    "numbers 3.14159 1,000,000 2nd 42nd 1/2 ½ ² ³ ⅓",
    "URLs https://example.com/path?q=1&x=y and emails someone@example.org",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３ and halfwidth ｶﾀｶﾅ",
    "unassigned \U000e0001 tag and private use \ue000 and noncharacter \ufdd0",
    "it 's a charming and often affecting journey . ",
    "UPPER lower MiXeD CaSe",
]
HARD_PAIRS = [
    ("What is the capital of France?", "Paris is the capital of France."),
    ("", "second only"),
    ("first only", ""),
    (" ".join(["alpha"] * 30), " ".join(["beta"] * 30)),
    (" ".join(["alpha"] * 30), " ".join(["beta"] * 5)),
    (" ".join(["alpha"] * 5), " ".join(["beta"] * 30)),
    (" ".join(["alpha"] * 25), " ".join(["beta"] * 26)),
]
PAIR_MAX_LENGTHS = [512, 16, 17, 3, 4]


def encode_pair(tok, a, b, **kwargs):
    """AutoTokenizer's encoding of the pair (a, b) as a batch call gives it, which is how
    sentence-transformers' CrossEncoder and the Rust crate read pairs: an empty b is an empty
    second text (a call on one pair takes it for no second text)."""
    return {key: value[0] for key, value in tok([a], [b], **kwargs).items()}


