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

// Runs a product on raw buffers with this thread's scratchpad; bias may be null. oneDNN's
// primitive cache turns the primitive's creation into a look-up after the first call of a shape.
void run(const dnnl::matmul::primitive_desc& pd, const void* src, const dnnl::memory& weights,
         const dnnl::memory* bias, void* dst);
void run(const dnnl::matmul::primitive_desc& pd, const void* src, const void* weights, void* dst);

// A memory of layout `to` holding the plain buffer `data` of layout `from`.
dnnl::memory reorder(const Desc& from, const void* data, const Desc& to);

}  // namespace lat::kernels::onednn
