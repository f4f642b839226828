// Bad folders, files, options and inputs: each a lat::Error naming what is wrong, never a crash.
#include <cmath>

#include "io/safetensors.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;

// Expects fn to throw a lat::Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn fn, std::initializer_list<const char*> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const char* p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// A copy of the tiny model folder to damage.
struct TinyCopy : test::TempDir {
  TinyCopy() : test::TempDir("bad") {
    for (const auto& f : fs::directory_iterator(test::golden_dir() / "tiny-bert")) {
      fs::copy_file(f.path(), path() / f.path().filename());
    }
  }
  void edit_config(const std::function<void(nlohmann::json&)>& change) const {
    auto json = test::read_json(path() / "config.json");
    change(json);
    test::write_file(path() / "config.json", json.dump());
  }
};

TEST(BadInput, FolderMissingOrAFile) {
  expect_error([] { Encoder("/nonexistent/model"); }, {"/nonexistent/model", "does not exist"});
  const test::TempDir dir("file");
  test::write_file(dir.path() / "f", "x");
  expect_error([&] { Encoder(dir.path() / "f"); }, {"not a directory"});
  expect_error([&] { Encoder(dir.path()); }, {"config.json"});
}

TEST(BadInput, SafetensorsDamage) {
  const TinyCopy m;
  const fs::path file = m.path() / "model.safetensors";
  const std::string good = test::read_file(file);
  test::write_file(file, good.substr(0, 5));
  expect_error([&] { io::SafeTensors{file}; }, {"model.safetensors", "truncated"});
  test::write_file(file, good.substr(0, good.size() / 2));
  expect_error([&] { Encoder{m.path()}; }, {"model.safetensors", "out of range"});
  std::string huge = good;
  huge[6] = '\x7f';
  test::write_file(file, huge);
  expect_error([&] { io::SafeTensors{file}; }, {"header length"});
  std::string twice = good;  // a tensor named twice in the header: which one counts is unclear
  const auto name = twice.find("\"bert.embeddings.LayerNorm.weight\"");
  ASSERT_NE(name, std::string::npos);
  twice.replace(name, 34, "\"bert.embeddings.LayerNorm.bias\"  ");
  test::write_file(file, twice);
  expect_error([&] { io::SafeTensors{file}; }, {"model.safetensors", "appears twice"});
  std::string not_json = good;
  not_json[8] = '#';
  test::write_file(file, not_json);
  expect_error([&] { io::SafeTensors{file}; }, {"not valid JSON"});
}

TEST(BadInput, SafetensorsTables) {
  const test::TempDir dir("st");
  const fs::path file = dir.path() / "model.safetensors";
  auto write = [&](const std::string& header, std::size_t data_bytes) {
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
      out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    test::write_file(file, out + header + std::string(data_bytes, '\0'));
  };
  write(
      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
      12);
  expect_error([&] { io::SafeTensors{file}; }, {"overlap", "'a'", "'b'"});
  write(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  expect_error([&] { io::SafeTensors{file}; }, {"tensor 'a'", "needs 12"});
  write(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { io::SafeTensors{file}; }, {"tensor 'a'", "unknown dtype 'Q4'"});
  write(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { io::SafeTensors{file}; }, {"tensor 'a'", "shape"});
  write(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8);
  expect_error([&] { io::SafeTensors{file}; }, {"tensor 'a'", "absurd"});
  write(R"([1,2])", 0);
  expect_error([&] { io::SafeTensors{file}; }, {"not a JSON object"});
}

TEST(BadInput, TensorMissingOrMisshapen) {
  const TinyCopy m;
  m.edit_config([](auto& j) { j["intermediate_size"] = 64; });
  expect_error([&] { Encoder{m.path()}; },
               {"intermediate.dense", "does not match config.json", "[64"});
  m.edit_config([](auto& j) {
    j["intermediate_size"] = 100;
    j["num_hidden_layers"] = 6;
  });
  expect_error([&] { Encoder{m.path()}; }, {"encoder.layer.5", "missing"});
}

TEST(BadInput, ConfigFields) {
  const TinyCopy m;
  const std::pair<std::function<void(nlohmann::json&)>, std::vector<const char*>> cases[] = {
      {[](auto& j) { j.erase("hidden_size"); }, {"config.json", "hidden_size", "missing"}},
      {[](auto& j) { j["hidden_size"] = -48; }, {"hidden_size", "-48"}},
      {[](auto& j) { j["num_hidden_layers"] = 0; }, {"num_hidden_layers", "outside"}},
      {[](auto& j) { j["vocab_size"] = 1LL << 40; }, {"vocab_size", "outside"}},
      {[](auto& j) { j["num_attention_heads"] = 5; }, {"num_attention_heads", "does not divide"}},
      {[](auto& j) { j["hidden_size"] = "big"; }, {"hidden_size", "integer"}},
      {[](auto& j) { j["model_type"] = "gpt2"; }, {"model_type", "gpt2"}},
      {[](auto& j) { j["hidden_act"] = "swish"; }, {"hidden_act", "swish"}},
      {[](auto& j) {
         j["id2label"] = {{"0", "a"}, {"7", "b"}, {"2", "c"}};
       },
       {"id2label"}},
  };
  const std::string original = test::read_file(m.path() / "config.json");
  for (const auto& [change, parts] : cases) {
    test::write_file(m.path() / "config.json", original);
    m.edit_config(change);
    try {
      Encoder{m.path()};
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      for (const char* p : parts)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
  }
  test::write_file(m.path() / "config.json", "{not json");
  expect_error([&] { Encoder{m.path()}; }, {"config.json", "not valid JSON"});
}

// Found by fuzz_vocab: a huge float where an integer belongs was converted before its range was
// checked (undefined behaviour).
TEST(BadInput, HugeNumbersWhereIntegersBelong) {
  const TinyCopy m;
  for (const char* value : {"1.2e96", "-1e300", "18446744073709551615", "12.5"}) {
    m.edit_config([&](auto& j) { j["num_hidden_layers"] = nlohmann::json::parse(value); });
    expect_error([&] { Encoder{m.path()}; }, {"config.json", "num_hidden_layers"});
  }
}

TEST(BadInput, VocabularyProblems) {
  const TinyCopy m;
  test::write_file(m.path() / "vocab.txt", "");
  expect_error([&] { Encoder{m.path()}; }, {"vocab.txt", "empty"});
  test::write_file(m.path() / "vocab.txt", "[PAD]\n[UNK]\n[SEP]\nthe\n");
  expect_error([&] { Encoder{m.path()}; }, {"vocab.txt", "[CLS]"});
  fs::remove(m.path() / "vocab.txt");
  expect_error([&] { Encoder{m.path()}; }, {"tokenizer.json", "vocab.txt"});
}

// A tokenizer.json whose steps lat does not run is refused, naming the step; never approximated.
TEST(BadInput, TokenizerComponentsLatDoesNotRun) {
  const TinyCopy m;
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat"})
    vocab[t] = id++;
  const nlohmann::json base = {
      {"model", {{"type", "WordPiece"}, {"vocab", vocab}, {"unk_token", "[UNK]"}}},
      {"normalizer", {{"type", "BertNormalizer"}, {"clean_text", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "BertProcessing"}, {"cls", {"[CLS]", 2}}, {"sep", {"[SEP]", 3}}}}};
  const struct {
    const char* step;
    nlohmann::json value;
    const char* named;
  } cases[] = {
      {"normalizer", {{"type", "ByteLevel"}}, "normalizer 'ByteLevel'"},
      {"normalizer",
       {{"type", "Sequence"}, {"normalizers", {{{"type", "ByteLevel"}}}}},
       "normalizer 'ByteLevel'"},
      {"pre_tokenizer", {{"type", "UnicodeScripts"}}, "pre-tokenizer 'UnicodeScripts'"},
      {"post_processor", {{"type", "Reversed"}}, "post-processor 'Reversed'"},
      {"model", {{"type", "WordLevel"}}, "'model.type' is 'WordLevel'"},
      {"post_processor",
       {{"type", "BertProcessing"}, {"cls", {"[CLS]", -4}}, {"sep", {"[SEP]", 3}}},
       "cls"},
  };
  for (const auto& c : cases) {
    nlohmann::json json = base;
    json[c.step] = c.value;
    test::write_file(m.path() / "tokenizer.json", json.dump());
    expect_error([&] { Tokenizer::from_folder(m.path()); }, {"tokenizer.json", c.named});
  }
  test::write_file(m.path() / "tokenizer.json", base.dump());
  const auto tok = Tokenizer::from_folder(m.path());
  EXPECT_EQ(tok.encode("the cat", 8).ids, (std::vector<std::int32_t>{2, 5, 6, 3}));
}

TEST(BadInput, Options) {
  const fs::path tiny = test::golden_dir() / "tiny-bert";
  expect_error([&] { Encoder(tiny, {.threads = -1}); }, {"threads"});
  expect_error([&] { Encoder(tiny, {.threads = 0}); }, {"threads"});
  for (double s : {0.5, std::nan(""), HUGE_VAL, -HUGE_VAL}) {
    expect_error([&] { Encoder(tiny, {.speedup = s}); }, {"speedup"});
  }
  expect_error([&] { Encoder(tiny, {.max_length = 1}); }, {"max_length"});
  expect_error([&] { Encoder(tiny, {.max_length = 100000}); },
               {"max_length", "max_position_embeddings"});
  const TinyCopy m;
  test::write_file(m.path() / "lat.json", R"({"speedup": 0.2})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "speedup"});
  test::write_file(m.path() / "lat.json", R"({"weight_flops": -3})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "weight_flops"});
  test::write_file(m.path() / "lat.json", R"({"weight_flops": "many"})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "weight_flops"});
  test::write_file(m.path() / "lat.json", R"({"attention_flops": -1})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "attention_flops -1"});
  test::write_file(m.path() / "lat.json", R"({"input_flops": -1})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "input_flops -1"});
  test::write_file(m.path() / "lat.json", R"({"sppedup": 2})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "unknown key 'sppedup'"});
  test::write_file(m.path() / "lat.json", R"({"speedup": 2, "speedup": 3})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "'speedup' appears twice"});
  test::write_file(m.path() / "lat.json", R"({"precision": "int4"})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "precision", "'int4'"});
  test::write_file(m.path() / "lat.json", R"({"precision": 8})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "precision"});
  test::write_file(m.path() / "lat.json", R"({"exponents": "steep"})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "exponents"});
  test::write_file(m.path() / "lat.json", R"({"exponents": [1, 2]})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "exponents give 2 values"});
  for (const char* floor : {"1", "-0.1", "\"tenth\""}) {
    test::write_file(m.path() / "lat.json", std::string(R"({"floor": )") + floor + "}");
    expect_error([&] { Encoder{m.path()}; }, {"lat.json", "floor"});
  }
  expect_error([&] { Encoder(tiny, {.floor = 1.5}); }, {"options", "floor 1.5"});
  // Beyond what any input reaches: refused, and the number is written as a number.
  test::write_file(m.path() / "lat.json", R"({"speedup": 1e300})");
  expect_error([&] { Encoder{m.path()}; }, {"lat.json", "speedup 1e+300 is out of reach"});
  expect_error([&] { Encoder(tiny, {.speedup = 1e6}); },
               {"options", "speedup 1e+06", "out of reach"});
  for (double w : {-1.0, std::nan(""), HUGE_VAL}) {
    expect_error([&] { Encoder(tiny, {.cost = CostModel{w}}); }, {"weight_flops"});
  }
  const Encoder encoder(tiny);
  for (int tokens : {-1, 0, 1, 100000}) {
    expect_error([&] { encoder.calibrate(tokens); }, {"calibration length"});
  }
}

TEST(BadInput, KernelCacheCapacity) {
  const int before = kernel_cache_capacity();
  expect_error([] { set_kernel_cache_capacity(-1); }, {"kernel cache", "-1"});
  EXPECT_EQ(kernel_cache_capacity(), before);
  set_kernel_cache_capacity(0);  // none kept: every product compiles its kernel, and runs
  EXPECT_EQ(kernel_cache_capacity(), 0);
  const Encoder encoder(test::golden_dir() / "tiny-bert");
  const std::vector<Encoding> inputs{encoder.tokenize("a text")};
  EXPECT_EQ(encoder.run(inputs).size(), 1u);
  set_kernel_cache_capacity(before);
  EXPECT_EQ(kernel_cache_capacity(), before);
}

TEST(BadInput, IdsAndTexts) {
  const Encoder encoder(test::golden_dir() / "tiny-bert");
  auto run = [&](Encoding e) { encoder.run(std::vector<Encoding>{std::move(e)}); };
  expect_error([&] { run({{}, {}, false}); }, {"input 0", "no token ids"});
  expect_error([&] { run({{101, 5000, 102}, {}, false}); }, {"token id 5000", "position 1"});
  expect_error([&] { run({{101, -3}, {}, false}); }, {"token id -3"});
  expect_error([&] { run({{101, 102}, {0}, false}); }, {"type ids"});
  expect_error([&] { run({{101, 102}, {0, 2}, false}); }, {"type id 2"});
  expect_error([&] { run({std::vector<std::int32_t>(513, 1000), {}, false}); }, {"513 tokens"});
  const std::vector<std::string> bad{"fine", "bad \xc3\x28 byte"};
  expect_error([&] { encoder.classify(bad); }, {"text 1", "invalid UTF-8", "byte offset 4"});
  std::string longest;
  for (int i = 0; i < 100000; ++i) longest += "the ";
  const auto r = encoder.classify(std::vector<std::string>{longest});
  EXPECT_TRUE(r[0].run.truncated);
  EXPECT_EQ(r[0].run.tokens, 512);
}

}  // namespace
}  // namespace lat

namespace lat {
namespace {

// A model of tiny weights whose config allows 65,536 positions: a full-length input would need
// tens of GiB for its attention probabilities, and is refused before anything is allocated.
TEST(BadInput, ActivationsBeyondMemoryAreRefusedBeforeAllocating) {
  const test::TempDir dir("huge");
  const int d = 4, dff = 4, positions = 65536;
  fs::copy_file(test::golden_dir() / "tiny-bert" / "vocab.txt", dir.path() / "vocab.txt");
  test::write_file(dir.path() / "config.json",
                   nlohmann::json{{"model_type", "bert"},
                                  {"vocab_size", 5000},
                                  {"hidden_size", d},
                                  {"num_hidden_layers", 1},
                                  {"num_attention_heads", 4},
                                  {"intermediate_size", dff},
                                  {"max_position_embeddings", positions},
                                  {"type_vocab_size", 2}}
                       .dump());
  std::map<std::string, test::TensorSpec> t;
  auto zeros = [](std::vector<std::int64_t> shape) {
    std::size_t n = 1;
    for (auto v : shape) n *= static_cast<std::size_t>(v);
    return test::f32_tensor(std::move(shape), std::vector<float>(n, 0.f));
  };
  t["embeddings.word_embeddings.weight"] = zeros({5000, d});
  t["embeddings.position_embeddings.weight"] = zeros({positions, d});
  t["embeddings.token_type_embeddings.weight"] = zeros({2, d});
  for (const char* n : {"embeddings.LayerNorm", "encoder.layer.0.attention.output.LayerNorm",
                        "encoder.layer.0.output.LayerNorm"}) {
    t[std::string(n) + ".weight"] = zeros({d});
    t[std::string(n) + ".bias"] = zeros({d});
  }
  for (const char* n : {"query", "key", "value"}) {
    t[std::string("encoder.layer.0.attention.self.") + n + ".weight"] = zeros({d, d});
    t[std::string("encoder.layer.0.attention.self.") + n + ".bias"] = zeros({d});
  }
  t["encoder.layer.0.attention.output.dense.weight"] = zeros({d, d});
  t["encoder.layer.0.attention.output.dense.bias"] = zeros({d});
  t["encoder.layer.0.intermediate.dense.weight"] = zeros({dff, d});
  t["encoder.layer.0.intermediate.dense.bias"] = zeros({dff});
  t["encoder.layer.0.output.dense.weight"] = zeros({d, dff});
  t["encoder.layer.0.output.dense.bias"] = zeros({d});
  test::write_file(dir.path() / "model.safetensors", test::safetensors_bytes(t));

  const Encoder encoder(dir.path());
  EXPECT_EQ(encoder.info().max_length, positions);
  const auto small = encoder.run(std::vector<Encoding>{{{101, 1000, 102}, {}, false}});
  EXPECT_EQ(small[0].run.tokens, 3);
  expect_error(
      [&] {
        encoder.run(std::vector<Encoding>{{std::vector<std::int32_t>(positions, 1000), {}, false}});
      },
      {"MiB of activations"});
}

}  // namespace
}  // namespace lat
