// A whole model folder: the tiny model with one of its small files replaced by arbitrary bytes
// (the first byte picks which), loaded and run on a short text.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  static const char* kFiles[] = {"config.json",  "vocab.txt", "tokenizer_config.json",
                                 "modules.json", "lat.json",  "1_Pooling/config.json"};
  if (size < 1) return 0;
  const fs::path dir = lat::fuzz::scratch() / "model";
  fs::remove_all(dir);
  fs::create_directories(dir / "1_Pooling");
  for (const auto& f : fs::directory_iterator(lat::fuzz::tiny_model())) {
    fs::copy_file(f.path(), dir / f.path().filename());
  }
  const char* file = kFiles[data[0] % (sizeof kFiles / sizeof *kFiles)];
  lat::fuzz::write(dir / file, reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    const lat::Encoder encoder(dir, {.threads = 1});
    const std::vector<std::string> texts{"the cat sat", ""};
    if (encoder.info().classifier) {
      (void)encoder.classify(texts);
    } else {
      (void)encoder.embed(texts);
    }
  } catch (const lat::Error&) {
  }
  return 0;
}
