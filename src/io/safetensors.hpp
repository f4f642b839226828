#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"

namespace lat::io {

enum class DType { kF64, kF32, kF16, kBF16, kI64, kI32, kI16, kI8, kU8, kBool, kF8E4M3, kF8E5M2 };

struct TensorInfo {
  DType dtype;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> data;  // inside the mapped file, bounds checked
};

// A safetensors file, memory-mapped. The header is validated in full on open: sizes, dtypes,
// offsets inside the data section, byte counts equal to shape times element size, no overlaps.
class SafeTensors {
 public:
  explicit SafeTensors(const std::filesystem::path& path);

  // The tensor table of a whole safetensors file held in memory; `where` names it in errors.
  static std::map<std::string, TensorInfo> parse(std::span<const std::byte> bytes,
                                                 const std::string& where);

  const TensorInfo* find(const std::string& name) const;
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::filesystem::path& path() const { return file_->path(); }

  // Copies a floating-point tensor (F32, F16 or BF16) into fp32, after checking its shape.
  std::vector<float> load_f32(const std::string& name,
                              std::span<const std::int64_t> expected_shape) const;

 private:
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorInfo> tensors_;
};

}  // namespace lat::io
