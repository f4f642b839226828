// tokenizer.json on arbitrary bytes, then a text through it: every step lat reads (normalizers,
// pre-tokenizers, models, post-processors, added tokens, decoders) must load or refuse with
// lat::Error, tokenize with offsets inside the text, and decode, without crashing. The first
// byte picks the special token names of tokenizer_config.json: BERT's ([CLS] ...) or RoBERTa's
// (<s> ...).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "lat/error.hpp"
#include "lat/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const auto& dir = lat::fuzz::scratch();
  const std::string config =
      (data[0] & 1) ? R"({"cls_token": "<s>", "sep_token": "</s>", "unk_token": "<unk>",
                         "pad_token": "<pad>", "mask_token": "<mask>"})"
                    : R"({"do_lower_case": true})";
  lat::fuzz::write(dir / "tokenizer_config.json", config.data(), config.size());
  lat::fuzz::write(dir / "tokenizer.json", reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const auto tok = lat::Tokenizer::from_folder(dir);
    const std::string text =
        "Héllo, wörld!  <s> <mask>[SEP] 中文 e\u0301 🧑‍💻 it's ▁x\t\n";
    const auto e = tok.encode(text, 64);
    // One offset per id, each within the text.
    if (e.offsets.size() != e.ids.size()) __builtin_trap();
    for (const auto& o : e.offsets)
      if (o.start < 0 || o.start > o.stop || o.stop > static_cast<int>(text.size()))
        __builtin_trap();
    (void)tok.encode_pair("a b c", "d e f", 7);
    (void)tok.is_special(e.ids.empty() ? 0 : e.ids[0]);
    (void)tok.decode(e.ids, false);
    (void)tok.decode(e.ids);
  } catch (const lat::Error&) {
  }
  return 0;
}
