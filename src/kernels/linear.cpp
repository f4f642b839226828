#include "kernels/linear.hpp"

#include <cstdlib>

namespace lat::kernels {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::algorithm algorithm_of(Epilogue e) {
  switch (e) {
    case Epilogue::kGeluErf:
      return dnnl::algorithm::eltwise_gelu_erf;
    case Epilogue::kGeluTanh:
      return dnnl::algorithm::eltwise_gelu_tanh;
    case Epilogue::kRelu:
      return dnnl::algorithm::eltwise_relu;
    case Epilogue::kTanh:
      return dnnl::algorithm::eltwise_tanh;
    case Epilogue::kNone:
      break;
  }
  return dnnl::algorithm::undef;
}

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine = [] {
    // Each row count, and each pair of rows in and kept in attention, is its own primitive.
    // Inputs of every length under pruning use a few thousand; oneDNN's default cache holds
    // 1,024 and would compile kernels again and again. Raise it unless the user has set it.
    constexpr int kPrimitives = 16384;
    if (std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") == nullptr &&
        std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") == nullptr &&
        dnnl::get_primitive_cache_capacity() < kPrimitives) {
      dnnl::set_primitive_cache_capacity(kPrimitives);
    }
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

dnnl::matmul::primitive_desc Linear::describe(std::int64_t rows) const {
  const dnnl::memory::dim M = rows, K = in_, N = out_;
  // Weights "any" lets oneDNN pick its layout; after the first call the packed one is given.
  const auto weights_md =
      weights_ ? weights_.get_desc() : dnnl::memory::desc({K, N}, dt::f32, tag::any);
  return dnnl::matmul::primitive_desc(
      dnnl::matmul::desc(dnnl::memory::desc({M, K}, dt::f32, tag::ab), weights_md,
                         dnnl::memory::desc({1, N}, dt::f32, tag::ab),
                         dnnl::memory::desc({M, N}, dt::f32, tag::ab)),
      attr_, cpu_engine());
}

Linear::Linear(const std::vector<float>& weight, const std::vector<float>& bias, int in, int out,
               Epilogue epilogue)
    : in_(in), out_(out) {
  attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (epilogue != Epilogue::kNone) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm_of(epilogue), 0.f, 0.f);
    attr_.set_post_ops(ops);
  }
  const auto& engine = cpu_engine();
  const auto pd = describe(64);
  // W^T as K x N is the [out, in] buffer read with strides (1, K): format "ba".
  dnnl::stream stream(engine);
  dnnl::memory given({{in, out}, dt::f32, tag::ba}, engine, const_cast<float*>(weight.data()));
  weights_ = dnnl::memory(pd.weights_desc(), engine);
  dnnl::reorder(given, weights_).execute(stream, given, weights_);
  bias_ = dnnl::memory({{1, out}, dt::f32, tag::ab}, engine);
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
  stream.wait();
}

void Linear::operator()(const float* x, std::int64_t rows, float* y) const {
  if (rows == 0) return;
  const auto& engine = cpu_engine();
  const auto pd = describe(rows);
  const dnnl::matmul matmul(pd);
  dnnl::stream stream(engine);
  dnnl::memory src(pd.src_desc(), engine, const_cast<float*>(x));
  dnnl::memory dst(pd.dst_desc(), engine, y);
  thread_local std::vector<std::uint8_t> scratch;
  if (scratch.size() < pd.scratchpad_desc().get_size())
    scratch.resize(pd.scratchpad_desc().get_size());
  dnnl::memory scratchpad(pd.scratchpad_desc(), engine, scratch.data());
  matmul.execute(stream, {{DNNL_ARG_SRC, src},
                          {DNNL_ARG_WEIGHTS, weights_},
                          {DNNL_ARG_BIAS, bias_},
                          {DNNL_ARG_DST, dst},
                          {DNNL_ARG_SCRATCHPAD, scratchpad}});
  stream.wait();
}

}  // namespace lat::kernels
