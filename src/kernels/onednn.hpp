#pragma once

// The one place lat calls oneDNN. It builds against the 2.x API (Debian's 2.6) and the 3.x API,
// which dropped the operation descriptors and changed the post-op calls.
#include <dnnl.hpp>

#include "kernels/types.hpp"

namespace lat::kernels::onednn {

using Desc = dnnl::memory::desc;
using Dims = dnnl::memory::dims;
using Type = dnnl::memory::data_type;

// The CPU engine; its primitive cache is raised at first use (see onednn.cpp).
const dnnl::engine& engine();

Type type_of(DType type);

// dst = epilogue(src x weights + bias) for these descriptors, which may be strided and batched;
// weights may be format `any`, for oneDNN to choose the layout its kernels prefer. Throws
// lat::Error (kUnsupported) when oneDNN has no implementation of it for this CPU.
dnnl::matmul::primitive_desc matmul(const Desc& src, const Desc& weights, const Desc* bias,
                                    const Desc& dst, Epilogue epilogue = Epilogue::kNone);

// A product ready to run: its descriptor and its primitive.
struct Product {
  explicit Product(const dnnl::matmul::primitive_desc& d) : pd(d), primitive(d) {}
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul primitive;
};

// Runs a product on raw buffers with this thread's stream and scratchpad; bias may be null.
void run(const Product& product, const void* src, const dnnl::memory& weights,
         const dnnl::memory* bias, void* dst);
// The same from its descriptor: oneDNN's primitive cache turns the primitive's creation into a
// look-up after the first call of a shape.
void run(const dnnl::matmul::primitive_desc& pd, const void* src, const dnnl::memory& weights,
         const dnnl::memory* bias, void* dst);
void run(const dnnl::matmul::primitive_desc& pd, const void* src, const void* weights, void* dst);

// A memory of layout `to` holding the plain buffer `data` of layout `from`.
dnnl::memory reorder(const Desc& from, const void* data, const Desc& to);

// The largest int8 weight magnitude whose products with int8 activations this CPU's oneDNN
// kernels sum exactly: 127 where the CPU has VNNI, 63 where pairs of products are first summed
// in 16 bits and 127 x 255 + 127 x 255 would saturate (AVX2, AVX-512 without VNNI). Measured once.
int int8_weight_limit();

// Whether oneDNN runs bf16 products on this CPU (AVX-512 at least), and whether the CPU
// multiplies bf16 natively (AVX512_BF16) rather than through fp32.
bool has_bf16();
bool has_native_bf16();

}  // namespace lat::kernels::onednn
