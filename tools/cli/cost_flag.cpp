#include "cost_flag.hpp"

#include <lat/encoder.hpp>
#include <stdexcept>

namespace lat::cli {

Flag cost_flag() {
  return Flag::text("--cost", "flops|calibrated|WEIGHT_FLOPS",
                    "the schedule's cost model: FLOPs, measured on this machine now, or a "
                    "given weight_flops",
                    "flops")
      .one_of({"flops", "calibrated"})
      .or_a_number();
}

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
  try {
    return {read_number(value)};
  } catch (const BadValue&) {
    throw std::invalid_argument(value_error("--cost", value, "not flops, calibrated or a number"));
  }
}

}  // namespace lat::cli
