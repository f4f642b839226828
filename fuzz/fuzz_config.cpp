// config.json reading on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "io/model_config.hpp"
#include "lat/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    (void)lat::io::parse_bert_config(json, "config.json");
  } catch (const lat::Error&) {
  }
  return 0;
}
