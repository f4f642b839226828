// The safetensors header and tensor table parser on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "io/safetensors.hpp"
#include "lat/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto tensors = lat::io::SafeTensors::parse(
        {reinterpret_cast<const std::byte*>(data), size}, "fuzz.safetensors");
    std::size_t total = 0;
    for (const auto& [name, t] : tensors) total += t.data.size() + name.size();  // touch the spans
    (void)total;
  } catch (const lat::Error&) {
  }
  return 0;
}
