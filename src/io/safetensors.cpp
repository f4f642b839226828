#include "io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"

namespace lat::io {
namespace {

// Headers of real checkpoints are a few hundred KiB; anything far larger is hostile.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeName {
  const char* name;
  DType dtype;
  std::size_t bytes;
};
constexpr DTypeName kDTypes[] = {
    {"F64", DType::kF64, 8},   {"F32", DType::kF32, 4},        {"F16", DType::kF16, 2},
    {"BF16", DType::kBF16, 2}, {"I64", DType::kI64, 8},        {"I32", DType::kI32, 4},
    {"I16", DType::kI16, 2},   {"I8", DType::kI8, 1},          {"U8", DType::kU8, 1},
    {"BOOL", DType::kBool, 1}, {"F8_E4M3", DType::kF8E4M3, 1}, {"F8_E5M2", DType::kF8E5M2, 1},
};

std::size_t dtype_bytes(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.bytes;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {  // subnormal: normalise
    exp = 113;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace

SafeTensors::SafeTensors(const std::filesystem::path& path)
    : file_(std::make_unique<MappedFile>(path)), tensors_(parse(file_->bytes(), path.string())) {}

std::map<std::string, TensorInfo> SafeTensors::parse(std::span<const std::byte> bytes,
                                                     const std::string& where) {
  auto fail = [&](const std::string& what) {
    throw Error(ErrorCode::kFormat, where + ": " + what);
  };
  std::map<std::string, TensorInfo> tensors;
  if (bytes.size() < 8) fail("truncated: " + std::to_string(bytes.size()) + " bytes, no header");
  std::uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i)
    header_len = (header_len << 8) | std::to_integer<std::uint64_t>(bytes[i]);
  if (header_len > kMaxHeaderBytes)
    fail("header length " + std::to_string(header_len) + " is absurd");
  if (header_len > bytes.size() - 8) {
    fail("header length " + std::to_string(header_len) + " runs past the end of the file (" +
         std::to_string(bytes.size()) + " bytes)");
  }
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  const nlohmann::json header = parse_json({header_begin, header_len}, where + ": header");
  if (!header.is_object()) fail("header is not a JSON object");
  const auto data = bytes.subspan(8 + header_len);

  struct Range {
    std::uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string at = "tensor '" + name + "': ";
    if (!entry.is_object()) fail(at + "entry is not an object");
    const auto dt = entry.find("dtype");
    const auto sh = entry.find("shape");
    const auto off = entry.find("data_offsets");
    if (dt == entry.end() || !dt->is_string()) fail(at + "field 'dtype' missing or not a string");
    if (sh == entry.end() || !sh->is_array()) fail(at + "field 'shape' missing or not an array");
    if (off == entry.end() || !off->is_array() || off->size() != 2) {
      fail(at + "field 'data_offsets' must be an array of two integers");
    }
    const std::string dname = dt->get<std::string>();
    const auto known = std::find_if(std::begin(kDTypes), std::end(kDTypes),
                                    [&](const DTypeName& d) { return dname == d.name; });
    if (known == std::end(kDTypes)) fail(at + "unknown dtype '" + dname + "'");

    TensorInfo info{known->dtype, {}, {}};
    std::uint64_t count = 1;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail(at + "shape " + sh->dump() + " has a non-natural dimension");
      const auto v = d.get<std::uint64_t>();
      if (v > (1ull << 40) || (v != 0 && count > (1ull << 50) / v)) {
        fail(at + "shape " + sh->dump() + " is absurdly large");
      }
      count *= v;
      info.shape.push_back(static_cast<std::int64_t>(v));
    }
    for (const auto& o : *off) {
      if (!o.is_number_unsigned()) fail(at + "field 'data_offsets' must hold natural numbers");
    }
    const auto begin = (*off)[0].get<std::uint64_t>();
    const auto end = (*off)[1].get<std::uint64_t>();
    if (begin > end || end > data.size()) {
      fail(at + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] out of range of the data section (" + std::to_string(data.size()) + " bytes)");
    }
    if (end - begin != count * known->bytes) {
      fail(at + "data_offsets span " + std::to_string(end - begin) + " bytes, but shape " +
           sh->dump() + " of " + dname + " needs " + std::to_string(count * known->bytes));
    }
    info.data = data.subspan(begin, end - begin);
    auto [it, inserted] = tensors.emplace(name, std::move(info));
    ranges.push_back({begin, end, &it->first});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      fail("tensors '" + *ranges[i - 1].name + "' and '" + *ranges[i].name + "' overlap");
    }
  }
  return tensors;
}

const TensorInfo* SafeTensors::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<float> SafeTensors::load_f32(const std::string& name,
                                         std::span<const std::int64_t> expected_shape) const {
  const std::string where = path().string() + ": tensor '" + name + "': ";
  const TensorInfo* t = find(name);
  if (t == nullptr)
    throw Error(ErrorCode::kFormat, path().string() + ": tensor '" + name + "' is missing");
  if (!std::equal(t->shape.begin(), t->shape.end(), expected_shape.begin(), expected_shape.end())) {
    throw Error(ErrorCode::kConfig, where + "shape " + shape_string(t->shape) +
                                        " does not match config.json, which implies " +
                                        shape_string(expected_shape));
  }
  const std::size_t n = t->data.size() / std::max<std::size_t>(1, dtype_bytes(t->dtype));
  std::vector<float> out(n);
  const std::byte* src = t->data.data();
  switch (t->dtype) {
    case DType::kF32:
      std::memcpy(out.data(), src, n * 4);
      break;
    case DType::kF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      break;
    case DType::kBF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
      }
      break;
    default:
      throw Error(ErrorCode::kUnsupported,
                  where + "dtype " + dtype_name(t->dtype) +
                      " is not a floating-point type lat loads (F32, F16, BF16)");
  }
  file_->release(t->data);
  return out;
}

}  // namespace lat::io
