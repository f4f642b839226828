#include "kernels/linear.hpp"

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
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

Linear::Linear(const std::vector<float>& weight, const std::vector<float>& bias, int in, int out,
               Epilogue epilogue)
    : in_(in), out_(out) {
  const auto& engine = cpu_engine();
  const dnnl::memory::dim K = in, N = out, M = DNNL_RUNTIME_DIM_VAL;
  const dnnl::memory::desc src_md({M, K}, dt::f32, tag::ab);
  const dnnl::memory::desc dst_md({M, N}, dt::f32, tag::ab);
  const dnnl::memory::desc any_weights_md({K, N}, dt::f32, tag::any);
  const dnnl::memory::desc bias_md({1, N}, dt::f32, tag::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (epilogue != Epilogue::kNone) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm_of(epilogue), 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, any_weights_md, bias_md, dst_md),
                                        attr, engine);
  matmul_ = dnnl::matmul(pd);
  scratchpad_ = pd.scratchpad_desc();

  // W^T as K x N is the [out, in] buffer read with strides (1, K): format "ba".
  dnnl::stream stream(engine);
  dnnl::memory given({{K, N}, dt::f32, tag::ba}, engine, const_cast<float*>(weight.data()));
  weights_ = dnnl::memory(pd.weights_desc(), engine);
  dnnl::reorder(given, weights_).execute(stream, given, weights_);
  bias_ = dnnl::memory(bias_md, engine);
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
  stream.wait();
}

void Linear::operator()(const float* x, std::int64_t rows, float* y) const {
  if (rows == 0) return;
  const auto& engine = cpu_engine();
  dnnl::stream stream(engine);
  dnnl::memory src({{rows, in_}, dt::f32, tag::ab}, engine, const_cast<float*>(x));
  dnnl::memory dst({{rows, out_}, dt::f32, tag::ab}, engine, y);
  std::vector<std::uint8_t> scratch(scratchpad_.get_size());
  dnnl::memory scratchpad(scratchpad_, engine, scratch.data());
  matmul_.execute(stream, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, weights_},
                           {DNNL_ARG_BIAS, bias_},
                           {DNNL_ARG_DST, dst},
                           {DNNL_ARG_SCRATCHPAD, scratchpad}});
  stream.wait();
}

}  // namespace lat::kernels
