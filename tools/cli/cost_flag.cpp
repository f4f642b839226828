#include "cost_flag.hpp"

#include <lat/encoder.hpp>
#include <stdexcept>

namespace lat::cli {

CostModel cost_model_from_flag(const std::string& value, const std::filesystem::path& folder,
                               std::optional<int> threads) {
  if (value == "flops") return {};
  if (value == "calibrated") {
    return Encoder(folder, {.threads = threads, .speedup = 1.0, .cost = CostModel{}}).calibrate();
  }
  std::size_t used = 0;
  double weight_flops = 0;
  try {
    weight_flops = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size()) {
    throw std::invalid_argument("--cost " + value + ": not flops, calibrated or a number");
  }
  return {weight_flops};
}

}  // namespace lat::cli
