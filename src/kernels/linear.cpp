#include "kernels/linear.hpp"

#include <algorithm>

namespace lat::kernels {
namespace {

using Type = onednn::Type;
using tag = dnnl::memory::format_tag;

}  // namespace

dnnl::matmul::primitive_desc Linear::describe(std::int64_t rows, std::int64_t ld_x,
                                              std::int64_t ld_y) const {
  const dnnl::memory::dim M = rows, K = in_, N = out_;
  // Weights "any" lets oneDNN pick its layout; after the first call the packed one is given.
  const auto weights_md =
      weights_ ? weights_.get_desc() : onednn::Desc({K, N}, Type::f32, tag::any);
  const onednn::Desc bias({1, N}, Type::f32, tag::ab);
  return onednn::matmul(onednn::Desc({M, K}, Type::f32, onednn::Dims{ld_x, 1}), weights_md, &bias,
                        onednn::Desc({M, N}, Type::f32, onednn::Dims{ld_y, 1}), epilogue_);
}

Linear::Linear(std::span<const float> weight, std::span<const float> bias, int in, int out,
               Epilogue epilogue)
    : in_(in), out_(out), epilogue_(epilogue) {
  const auto packed = describe(64, in, out).weights_desc();
  // W^T as K x N is the [out, in] buffer read with strides (1, K): format "ba".
  const dnnl::memory::dim K = in, N = out;
  weights_ = onednn::reorder({{K, N}, Type::f32, tag::ba}, weight.data(), packed);
  bias_ = dnnl::memory({{1, N}, Type::f32, tag::ab}, onednn::engine());
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
}

void Linear::operator()(const Rows& x, std::int64_t rows, const Rows& y) const {
  if (rows == 0) return;
  onednn::run(describe(rows, x.ld, y.ld), x.data, weights_, &bias_, y.data);
}

}  // namespace lat::kernels
