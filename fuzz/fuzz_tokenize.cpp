// The tokenizer on arbitrary bytes, single texts and pairs, at several maximum lengths.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "lat/error.hpp"
#include "lat/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const lat::Tokenizer tok = lat::Tokenizer::from_folder(lat::fuzz::tiny_model());
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto e = tok.encode(text, 512);
    if (e.ids.size() > 512 || e.ids.size() != e.type_ids.size()) __builtin_trap();
    const auto half = size / 2;
    const auto p =
        tok.encode_pair(text.substr(0, half), text.substr(half), 7 + static_cast<int>(size % 40));
    if (p.ids.size() > 7 + size % 40) __builtin_trap();
  } catch (const lat::Error& e) {
    if (e.code() != lat::ErrorCode::kInput) __builtin_trap();  // only invalid UTF-8 may fail
  }
  return 0;
}
