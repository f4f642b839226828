#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "lat/export.hpp"

namespace lat {

// What a classifier head's logits go through (docs/design.md, "Heads"): softmax over them all,
// the sigmoid of each, or nothing.
enum class HeadActivation { kSoftmax, kSigmoid, kIdentity };

LAT_EXPORT const char* to_string(HeadActivation activation);  // "softmax", "sigmoid", "identity"
// The logits through the activation.
LAT_EXPORT std::vector<float> activate(HeadActivation activation, std::span<const float> logits);

}  // namespace lat
