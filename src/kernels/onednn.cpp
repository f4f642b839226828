#include "kernels/onednn.hpp"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cpu/loops.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"

namespace lat::kernels::onednn {
namespace {

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

dnnl::primitive_attr attributes(Epilogue e) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (e != Epilogue::kNone) {
    dnnl::post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
    ops.append_eltwise(algorithm_of(e), 0.f, 0.f);
#else
    ops.append_eltwise(1.f, algorithm_of(e), 0.f, 0.f);
#endif
    attr.set_post_ops(ops);
  }
  return attr;
}

// This thread's scratchpad, grown to the largest a product has asked for.
void* scratchpad(const dnnl::matmul::primitive_desc& pd) {
  thread_local std::vector<std::uint8_t> scratch;
  const std::size_t size = pd.scratchpad_desc().get_size();
  if (scratch.size() < size) scratch.resize(size);
  return scratch.data();
}

}  // namespace

namespace {

std::atomic<bool> capacity_chosen{false};

// Each row count, and each pair of rows in and kept in attention, is its own primitive. Inputs of
// every length under pruning use a few thousand; oneDNN's default cache holds 1,024 and would
// compile kernels again and again. Raise it once, unless the user or the environment has chosen.
void default_cache_capacity() {
  [[maybe_unused]] static const bool once = [] {
    constexpr int kPrimitives = 16384;
    if (!capacity_chosen && std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") == nullptr &&
        std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") == nullptr &&
        dnnl::get_primitive_cache_capacity() < kPrimitives) {
      dnnl::set_primitive_cache_capacity(kPrimitives);
    }
    return true;
  }();
}

}  // namespace

const dnnl::engine& engine() {
  default_cache_capacity();
  static const dnnl::engine cpu(dnnl::engine::kind::cpu, 0);
  return cpu;
}

Type type_of(DType type) {
  switch (type) {
    case DType::kBF16:
      return Type::bf16;
    case DType::kU8:
      return Type::u8;
    case DType::kF32:
      break;
  }
  return Type::f32;
}

dnnl::matmul::primitive_desc matmul(const Desc& src, const Desc& weights, const Desc* bias,
                                    const Desc& dst, Epilogue epilogue) {
  try {
#if DNNL_VERSION_MAJOR >= 3
    return bias != nullptr
               ? dnnl::matmul::primitive_desc(engine(), src, weights, *bias, dst,
                                              attributes(epilogue))
               : dnnl::matmul::primitive_desc(engine(), src, weights, dst, attributes(epilogue));
#else
    return dnnl::matmul::primitive_desc(bias != nullptr
                                            ? dnnl::matmul::desc(src, weights, *bias, dst)
                                            : dnnl::matmul::desc(src, weights, dst),
                                        attributes(epilogue), engine());
#endif
  } catch (const dnnl::error& e) {
    throw Error(
        ErrorCode::kUnsupported,
        std::string("oneDNN has no matrix product for these types on this CPU (") + e.what() + ")");
  }
}

void run(const Product& product, const void* src, const dnnl::memory& weights,
         const dnnl::memory* bias, void* dst) {
  const auto& cpu = engine();
  thread_local dnnl::stream stream(cpu);
  const dnnl::matmul::primitive_desc& pd = product.pd;
  std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), cpu, const_cast<void*>(src))},
      {DNNL_ARG_WEIGHTS, weights},
      {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), cpu, dst)},
      {DNNL_ARG_SCRATCHPAD, dnnl::memory(pd.scratchpad_desc(), cpu, scratchpad(pd))}};
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, *bias);
  product.primitive.execute(stream, args);
  stream.wait();
}

void run(const dnnl::matmul::primitive_desc& pd, const void* src, const dnnl::memory& weights,
         const dnnl::memory* bias, void* dst) {
  run(Product(pd), src, weights, bias, dst);
}

void run(const dnnl::matmul::primitive_desc& pd, const void* src, const void* weights, void* dst) {
  run(pd, src, dnnl::memory(pd.weights_desc(), engine(), const_cast<void*>(weights)), nullptr, dst);
}

dnnl::memory reorder(const Desc& from, const void* data, const Desc& to) {
  const auto& cpu = engine();
  dnnl::stream stream(cpu);
  dnnl::memory given(from, cpu, const_cast<void*>(data));
  dnnl::memory out(to, cpu);
  dnnl::reorder(given, out).execute(stream, given, out);
  stream.wait();
  return out;
}

int int8_weight_limit() {
  static const int limit = [] {
    // The worst case of the activations (127, shifted to 255 by s8 kernels) and the weights (127):
    // a kernel that sums pairs in 16 bits gets the wrong total.
    constexpr int kRows = 4, kDepth = 64, kCols = 64;
    const Desc src({kRows, kDepth}, Type::s8, dnnl::memory::format_tag::ab);
    const Desc plain({kDepth, kCols}, Type::s8, dnnl::memory::format_tag::ab);
    const Desc dst({kRows, kCols}, Type::s32, dnnl::memory::format_tag::ab);
    const auto pd =
        matmul(src, Desc({kDepth, kCols}, Type::s8, dnnl::memory::format_tag::any), nullptr, dst);
    const std::vector<std::int8_t> a(kRows * kDepth, 127), w(kDepth * kCols, 127);
    std::vector<std::int32_t> out(kRows * kCols, 0);
    const auto packed = reorder(plain, w.data(), pd.weights_desc());
    run(pd, a.data(), packed, nullptr, out.data());
    return out[0] == kDepth * 127 * 127 ? 127 : 63;
  }();
  return limit;
}

bool has_bf16() {
  static const bool supported = [] {
    try {
      const Desc a({2, 2}, Type::bf16, dnnl::memory::format_tag::ab);
      matmul(a, a, nullptr, Desc({2, 2}, Type::f32, dnnl::memory::format_tag::ab));
      return true;
    } catch (const Error&) {
      return false;
    }
  }();
  return supported;
}

bool has_native_bf16() { return has_bf16() && cpu_features().avx512_bf16; }

}  // namespace lat::kernels::onednn

namespace lat {

void set_kernel_cache_capacity(int kernels) {
  if (kernels < 0) {
    throw Error(ErrorCode::kOption,
                "the kernel cache's capacity must be 0 or more, not " + std::to_string(kernels));
  }
  kernels::onednn::capacity_chosen = true;
  dnnl::set_primitive_cache_capacity(kernels);
}

int kernel_cache_capacity() {
  kernels::onednn::default_cache_capacity();
  return dnnl::get_primitive_cache_capacity();
}

}  // namespace lat
