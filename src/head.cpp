#include "lat/head.hpp"

#include <algorithm>
#include <cmath>

namespace lat {

const char* to_string(HeadActivation activation) {
  switch (activation) {
    case HeadActivation::kSigmoid:
      return "sigmoid";
    case HeadActivation::kIdentity:
      return "identity";
    case HeadActivation::kSoftmax:
      break;
  }
  return "softmax";
}

std::vector<float> activate(HeadActivation activation, std::span<const float> logits) {
  std::vector<float> out(logits.begin(), logits.end());
  if (activation == HeadActivation::kSigmoid) {
    for (float& x : out) x = 1.f / (1.f + std::exp(-x));
  } else if (activation == HeadActivation::kSoftmax && !out.empty()) {
    const float max = *std::max_element(out.begin(), out.end());
    float sum = 0;
    for (float& x : out) sum += x = std::exp(x - max);
    for (float& x : out) x /= sum;
  }
  return out;
}

}  // namespace lat
