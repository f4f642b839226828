// A warm forward pass allocates nothing per sequence or per selection: its bookkeeping lives in the
// thread's workspace, as its activations do (design.md, "the hot path allocates nothing"). This
// binary counts every operator new of the process, which is why it is one of its own.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "io/safetensors.hpp"
#include "model/config.hpp"
#include "model/forward.hpp"
#include "model/weights.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
// Out of line: GCC would otherwise see free() given what operator new returned, and warn.
[[gnu::noinline]] void release(void* p) noexcept { std::free(p); }
}  // namespace

void* operator new(std::size_t bytes) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }

namespace lat {
namespace {

class Allocations : public ::testing::TestWithParam<Precision> {};

// Two batches of 96 rows whose layers keep the same rows in all: 4 sequences of 24 and 8 of 12.
// Every product then multiplies as many rows in both, and only what is done per sequence differs.
TEST_P(Allocations, AWarmPassAllocatesTheSameWhateverItsSequences) {
  const std::filesystem::path dir = LAT_GOLDEN "/tiny-bert";
  const model::Config config = model::read_config(dir / "config.json");
  ASSERT_EQ(config.layers, 5);
  const model::Weights weights =
      model::load_weights(io::SafeTensors(dir / "model.safetensors"), config, GetParam());
  struct Case {
    model::PackedBatch batch;
    std::vector<std::vector<int>> keep;
  };
  auto make = [](int sequences, int rows, std::vector<int> keep) {
    Case c;
    for (int s = 0; s < sequences; ++s) {
      for (int r = 0; r < rows; ++r) c.batch.ids.push_back(100 + 37 * s + 11 * r);
      c.batch.offsets.push_back((s + 1) * rows);
    }
    c.batch.type_ids.assign(c.batch.ids.size(), 0);
    c.keep.assign(static_cast<std::size_t>(sequences), keep);
    return c;
  };
  const Case four = make(4, 24, {12, 6, 2, 2, 2}), eight = make(8, 12, {6, 3, 1, 1, 1});
  auto count = [&](const Case& c) {
    allocations = 0;
    counting = true;
    const model::ForwardResult r = model::forward(weights, c.batch, c.keep, false);
    counting = false;
    EXPECT_EQ(r.offsets.back(), 8);
    return allocations.load();
  };
  for (int warm = 0; warm < 2; ++warm) {
    count(eight);
    count(four);
  }
  const long by_four = count(four), by_eight = count(eight);
  EXPECT_EQ(by_four, by_eight);
  EXPECT_EQ(count(four), by_four);  // and the same from call to call
}

INSTANTIATE_TEST_SUITE_P(EachPrecision, Allocations,
                         ::testing::Values(Precision::kFp32, Precision::kBf16, Precision::kInt8),
                         [](const auto& test) { return std::string(to_string(test.param)); });

}  // namespace
}  // namespace lat
