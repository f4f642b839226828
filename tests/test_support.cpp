#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "io/safetensors.hpp"

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

std::vector<Encoding> encodings_of(const nlohmann::json& inputs) {
  std::vector<Encoding> out;
  for (const auto& in : inputs) {
    out.push_back({in["ids"].get<std::vector<std::int32_t>>(),
                   in["type_ids"].get<std::vector<std::int32_t>>(), false});
  }
  return out;
}

// Runs the inputs in mixed-length batches of 1, 2, 3, ... inputs, in a shuffled order.
std::vector<EncoderOutput> run_in_batches(const Encoder& encoder,
                                          const std::vector<Encoding>& all) {
  std::vector<std::size_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  std::vector<EncoderOutput> outputs(all.size());
  std::size_t next = 0;
  for (std::size_t size = 1; next < order.size(); ++size) {
    std::vector<Encoding> batch;
    const std::size_t end = std::min(order.size(), next + size);
    for (std::size_t i = next; i < end; ++i) batch.push_back(all[order[i]]);
    auto results = encoder.run(batch);
    for (std::size_t i = next; i < end; ++i) outputs[order[i]] = std::move(results[i - next]);
    next = end;
  }
  return outputs;
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += double{a[i]} * b[i];
    aa += double{a[i]} * a[i];
    bb += double{b[i]} * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

namespace {
std::string fnv1a64_hex(const std::vector<std::int32_t>& ids) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::int32_t id : ids) {
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<std::uint32_t>(id) >> (8 * b)) & 0xffu;
      h *= 0x100000001b3ull;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}
}  // namespace

int expect_token_digests(
    const fs::path& data_file, const fs::path& golden_file,
    const std::function<std::vector<std::int32_t>(const std::string&)>& tokenize) {
  std::ifstream data(data_file, std::ios::binary), golden(golden_file);
  EXPECT_TRUE(data && golden) << "cannot open " << data_file << " or " << golden_file;
  std::string line, digest;
  std::getline(data, line);      // header
  std::getline(golden, digest);  // comment
  int count = 0, wrong = 0;
  while (std::getline(data, line)) {
    if (line.empty()) continue;
    if (!std::getline(golden, digest)) {
      ADD_FAILURE() << golden_file << " is shorter than " << data_file;
      break;
    }
    const std::string text = line.substr(0, line.rfind('\t'));
    if (digest != fnv1a64_hex(tokenize(text)) && ++wrong <= 5)
      ADD_FAILURE() << data_file << " line " << count + 2 << ": ids differ for: " << text;
    ++count;
  }
  EXPECT_EQ(wrong, 0) << "of " << count << " texts in " << data_file;
  EXPECT_FALSE(std::getline(golden, digest)) << golden_file << " is longer than " << data_file;
  return count;
}

// A BertForSequenceClassification on the MiniLM encoder: the golden file holds its seeded
// head and config; the weights are the fetched model's, renamed as save_pretrained names them.
std::filesystem::path make_classifier_folder(const test::TempDir& dir, const nlohmann::json& head) {
  const std::filesystem::path src = test::model_dir();
  for (const char* f :
       {"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}) {
    std::filesystem::copy_file(src / f, dir.path() / f);
  }
  test::write_file(dir.path() / "config.json", head["config"].dump());
  const io::SafeTensors encoder_weights(src / "model.safetensors");
  std::map<std::string, test::TensorSpec> tensors;
  for (const auto& [name, t] : encoder_weights.tensors()) {
    if (t.dtype != io::DType::kF32) continue;  // position_ids
    tensors["bert." + name] = {
        "F32", t.shape, std::string(reinterpret_cast<const char*>(t.data.data()), t.data.size())};
  }
  std::vector<float> w;
  for (const auto& row : head["classifier.weight"]) {
    for (float v : row) w.push_back(v);
  }
  const auto b = head["classifier.bias"].get<std::vector<float>>();
  tensors["classifier.weight"] = test::f32_tensor(
      {static_cast<std::int64_t>(b.size()), static_cast<std::int64_t>(w.size() / b.size())}, w);
  tensors["classifier.bias"] = test::f32_tensor({static_cast<std::int64_t>(b.size())}, b);
  test::write_file(dir.path() / "model.safetensors", test::safetensors_bytes(tensors));
  return dir.path();
}

}  // namespace lat::test
