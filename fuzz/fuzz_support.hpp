#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lat::fuzz {

// A scratch folder in memory-backed storage, one per fuzzing process.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    auto d = base / ("lat-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write(const std::filesystem::path& path, const char* data, std::size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(data, static_cast<std::streamsize>(size));
}

// The committed tiny model folder (tests/golden/tiny-bert).
inline std::filesystem::path tiny_model() { return LAT_TINY_MODEL; }

}  // namespace lat::fuzz
