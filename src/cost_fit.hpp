#pragma once

#include <array>
#include <optional>
#include <span>

namespace lat {

// The terms of a calibration pass's time: its FLOPs, its scores (sum of m^2 over its inputs'
// layers), the call (the weights read once) and its inputs, each divided by the pass's time.
constexpr int kCostTerms = 4;
using CostTerms = std::array<double, kCostTerms>;

// x with x[0] > 0 and every other term >= 0 that minimizes the sum over the rows of
// (row . x - 1)^2, the relative error of each pass's time; nothing where none exists.
std::optional<CostTerms> fit_non_negative(std::span<const CostTerms> rows);

}  // namespace lat
