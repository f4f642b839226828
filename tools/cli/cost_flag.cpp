#include "cost_flag.hpp"

#include <lat/encoder.hpp>
#include <stdexcept>

namespace lat::cli {

namespace {
constexpr int kTerms = 3;  // weight_flops, attention_flops, input_flops
}  // namespace

Flag cost_flag() {
  return Flag::text("--cost", "flops|calibrated|W[,A[,I]]",
                    "the schedule's cost model: FLOPs, measured on this machine now, or given "
                    "weight_flops[,attention_flops[,input_flops]]",
                    "flops")
      .one_of({"flops", "calibrated"})
      .or_numbers(kTerms);
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
    const std::vector<double> terms = read_numbers(value);
    if (std::ssize(terms) <= kTerms) {
      auto term = [&](std::size_t i) { return i < terms.size() ? terms[i] : 0.0; };
      return {
          .weight_flops = term(0), .batch = 1, .attention_flops = term(1), .input_flops = term(2)};
    }
  } catch (const BadValue&) {
  }
  throw std::invalid_argument(value_error(
      "--cost", value, "not flops, calibrated or up to " + std::to_string(kTerms) + " numbers"));
}

}  // namespace lat::cli
