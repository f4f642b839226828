#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lat/encoder.hpp"

namespace lat::test {

std::filesystem::path model_dir();   // all-MiniLM-L6-v2
std::filesystem::path data_dir();    // data/ (tools/fetch_data.sh unpacks it)
std::filesystem::path golden_dir();  // tests/golden

// Skips the calling test, saying why, when the real model has not been fetched.
#define LAT_REQUIRE_MODEL()                                                         \
  do {                                                                              \
    if (!std::filesystem::exists(::lat::test::model_dir() / "model.safetensors")) { \
      GTEST_SKIP() << "real model missing at " << ::lat::test::model_dir()          \
                   << "; run tools/fetch_model.sh";                                 \
    }                                                                               \
  } while (0)

nlohmann::json read_json(const std::filesystem::path& path);
std::vector<float> read_f32(const std::filesystem::path& path);
std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& bytes);

// A fresh, empty folder under the system temporary folder, removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes safetensors files for tests: tensors in order, F32 or raw bytes with a dtype name.
struct TensorSpec {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
};
std::string safetensors_bytes(const std::map<std::string, TensorSpec>& tensors);
TensorSpec f32_tensor(std::vector<std::int64_t> shape, const std::vector<float>& values);

// Golden inputs as encodings.
std::vector<Encoding> encodings_of(const nlohmann::json& inputs);

// Runs the inputs in mixed-length batches of 1, 2, 3, ... inputs, in a shuffled order.
std::vector<EncoderOutput> run_in_batches(const Encoder& encoder, const std::vector<Encoding>& all);

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b);
double cosine(const std::vector<float>& a, const std::vector<float>& b);

// Tokenizes every text of a data/ TSV (header line, text<TAB>label) and compares the ids'
// FNV-1a-64 digest, in hex, with the golden file's lines (the first is a comment), as
// tools/reference writes them. Adds a failure for each of the first five differing texts, and
// for a golden file of another length; returns how many texts were compared.
int expect_token_digests(
    const std::filesystem::path& data_file, const std::filesystem::path& golden_file,
    const std::function<std::vector<std::int32_t>(const std::string&)>& tokenize);

// A BertForSequenceClassification on the fetched MiniLM weights with the golden file's seeded
// head and config, written into dir as save_pretrained names its tensors.
std::filesystem::path make_classifier_folder(const TempDir& dir, const nlohmann::json& head);

}  // namespace lat::test
