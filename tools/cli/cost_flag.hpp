#pragma once

#include <filesystem>
#include <lat/precision.hpp>
#include <lat/schedule.hpp>
#include <optional>
#include <string>

#include "flags.hpp"

namespace lat::cli {

// The tools' --cost flag, defaulting to "flops": flops, calibrated or up to 3 numbers.
Flag cost_flag();

// The --cost flag's value: "flops" (the default model of DESIGN.md), "calibrated" (measured now,
// on this machine, with the dense model of `folder`, `threads` and `precision`), or up to 3
// numbers, the weight_flops, attention_flops and input_flops to use (those not given are 0). Throws
// std::invalid_argument for anything else.
CostModel cost_model_from_flag(const std::string& value, const std::filesystem::path& folder,
                               std::optional<int> threads, Precision precision);

}  // namespace lat::cli
