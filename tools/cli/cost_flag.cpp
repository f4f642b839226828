#include "cost_flag.hpp"

#include <lat/encoder.hpp>
#include <stdexcept>

#include "number.hpp"

namespace lat::cli {

CostModel cost_model_from_flag(const std::string& value, const std::filesystem::path& folder,
                               std::optional<int> threads, Precision precision) {
  if (value == "flops") return {};
  if (value == "calibrated") {
    return Encoder(folder, {.threads = threads,
                            .speedup = 1.0,
                            .precision = precision,
                            .cost = CostModel{},
                            .exponents = std::nullopt,
                            .floor = std::nullopt})
        .calibrate();
  }
  const auto weight_flops = whole_number(value);
  if (!weight_flops) {
    throw std::invalid_argument("--cost " + value + ": not flops, calibrated or a number");
  }
  return {*weight_flops};
}

}  // namespace lat::cli
