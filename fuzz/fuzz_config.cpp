// config.json reading on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "lat/error.hpp"
#include "model/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  try {
    (void)lat::model::parse_config(json, "config.json");
  } catch (const lat::Error&) {
  }
  return 0;
}
