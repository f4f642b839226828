// Many threads through shared encoders: results equal a serial run. Run under ThreadSanitizer by
// tools/sanitize.sh.
#include <omp.h>

#include <chrono>
#include <filesystem>
#include <iterator>
#include <thread>

#include "lat/encoder.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

TEST(Concurrency, EightThreadsMixedLengthsAndSpeedupsEqualSerial) {
  // One encoder per speedup, each shared by the threads; one thread per call inside.
  std::vector<std::unique_ptr<Encoder>> encoders;
  for (double s : {1.0, 2.0, 3.0}) {
    encoders.push_back(std::make_unique<Encoder>(test::golden_dir() / "tiny-bert",
                                                 EncoderOptions{.threads = 1, .speedup = s}));
  }
  std::vector<std::vector<std::string>> batches;
  for (int b = 0; b < 8; ++b) {
    std::vector<std::string> texts;
    for (int i = 0; i <= b; ++i) {
      std::string t;
      for (int w = 0; w < 3 + 37 * ((b + i) % 5); ++w) t += (w % 3 ? "the cat " : "sat on a mat ");
      texts.push_back(t);
    }
    batches.push_back(texts);
  }
  auto work = [&](int t) {
    return encoders[static_cast<std::size_t>(t) % 3]->classify(
        batches[static_cast<std::size_t>(t)]);
  };
  std::vector<std::vector<Classification>> serial, parallel(8);
  for (int t = 0; t < 8; ++t) serial.push_back(work(t));
  std::vector<std::thread> threads;
  for (int round = 0; round < 3; ++round) {
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] { parallel[static_cast<std::size_t>(t)] = work(t); });
    for (auto& th : threads) th.join();
    threads.clear();
    for (std::size_t t = 0; t < 8; ++t) {
      ASSERT_EQ(parallel[t].size(), serial[t].size());
      for (std::size_t i = 0; i < serial[t].size(); ++i) {
        EXPECT_EQ(parallel[t][i].logits, serial[t][i].logits) << "thread " << t << " text " << i;
        EXPECT_EQ(parallel[t][i].run.kept, serial[t][i].run.kept);
      }
    }
  }
}

// Thread counts may change the order of sums inside the matrix products, not the results beyond it.
TEST(Encoder, ThreadsPerCallAgree) {
  const Encoder one(test::golden_dir() / "tiny-bert", {.threads = 1, .speedup = 2.0});
  const Encoder two(test::golden_dir() / "tiny-bert", {.threads = 2, .speedup = 2.0});
  const std::vector<std::string> texts{"the cat sat on the mat", "a", "the the the the the the"};
  const auto a = one.classify(texts), b = two.classify(texts);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_LE(test::max_abs_diff(a[i].logits, b[i].logits), 1e-5f);
    EXPECT_EQ(a[i].run.kept, b[i].run.kept);
  }
}

// A call sets its own thread count for its products and gives the caller's back; so does
// calibration. More threads than CPUs run unplaced.
TEST(Encoder, LeavesTheCallersOpenMpSettingAsItWas) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  for (int threads : {1, 2, 64}) {
    const Encoder encoder(test::golden_dir() / "tiny-bert", {.threads = threads});
    const std::vector<std::string> texts{"the cat sat on the mat"};
    EXPECT_EQ(encoder.embed(texts).size(), 1u);
    EXPECT_EQ(omp_get_max_threads(), 3) << threads << " threads";
  }
  omp_set_num_threads(before);
}

// Building an encoder leaves no OpenMP team on the building thread. While the threads of all teams
// outnumber the CPUs, libgomp's workers sleep at every barrier of every call instead of spinning,
// so an encoder built on one thread and called on another would run slower.
TEST(Encoder, BuildingLeavesNoOpenMpTeamBehind) {
  if (omp_get_num_procs() < 2) GTEST_SKIP() << "one CPU: no team has a worker";
  auto threads_now = [] {
    const std::filesystem::directory_iterator tasks("/proc/self/task");
    return std::distance(std::filesystem::begin(tasks), std::filesystem::end(tasks));
  };
  std::thread builder([&] {
    const auto before = threads_now();
    const Encoder encoder(test::golden_dir() / "tiny-bert",
                          {.threads = 2, .precision = Precision::kInt8});
    // The team of the thread that loaded the weights ends with it, its worker a moment later.
    auto after = threads_now();
    for (int i = 0; i < 500 && after > before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      after = threads_now();
    }
    EXPECT_LE(after, before) << "a thread that built an encoder keeps an OpenMP worker";
  });
  builder.join();
}

}  // namespace
}  // namespace lat
