// vocab.txt and tokenizer.json loading on arbitrary bytes: the first byte picks the file (and
// whether a tokenizer_config.json from the rest's tail comes with it).
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "lat/error.hpp"
#include "lat/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  namespace fs = std::filesystem;
  const auto& dir = lat::fuzz::scratch();
  for (const char* f : {"vocab.txt", "tokenizer.json", "tokenizer_config.json"})
    fs::remove(dir / f);
  const char* body = reinterpret_cast<const char*>(data + 1);
  std::size_t body_size = size - 1;
  if (data[0] & 2) {  // split: tokenizer_config.json is what follows the last NUL
    std::size_t cut = body_size;
    while (cut > 0 && body[cut - 1] != '\0') --cut;
    if (cut > 0) {
      lat::fuzz::write(dir / "tokenizer_config.json", body + cut, body_size - cut);
      body_size = cut - 1;
    }
  }
  lat::fuzz::write(dir / ((data[0] & 1) ? "tokenizer.json" : "vocab.txt"), body, body_size);
  try {
    const auto tok = lat::Tokenizer::from_folder(dir);
    (void)tok.encode("Hello, wörld! [SEP] 中文 unaffable", 16);
    (void)tok.encode_pair("a b c", "d e f", 5);
  } catch (const lat::Error&) {
  }
  return 0;
}
