#include "test_support.hpp"

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace lat::test {
namespace fs = std::filesystem;

fs::path model_dir() {
  if (const char* env = std::getenv("LAT_TEST_MODEL")) return env;
  return LAT_TEST_MODEL;
}
fs::path data_dir() {
  if (const char* env = std::getenv("LAT_TEST_DATA")) return env;
  return LAT_TEST_DATA;
}
fs::path golden_dir() { return LAT_GOLDEN; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_file(path)); }

std::vector<float> read_f32(const fs::path& path) {
  const std::string bytes = read_file(path);
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

TempDir::TempDir(const std::string& name) {
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("lat-" + name + "-" + std::to_string(rd()));
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string safetensors_bytes(const std::map<std::string, TensorSpec>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  const std::string h = header.dump();
  std::string out(8, '\0');
  std::uint64_t len = h.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<std::size_t>(i)] = static_cast<char>((len >> (8 * i)) & 0xff);
  return out + h + data;
}

TensorSpec f32_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  TensorSpec t{"F32", std::move(shape), std::string(values.size() * 4, '\0')};
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

}  // namespace lat::test
