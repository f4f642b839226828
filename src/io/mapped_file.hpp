#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace lat::io {

// A read-only memory map of a whole file; empty files map to an empty span.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  // Gives the pages under `range` (inside bytes()) back to the system: a later read maps them
  // again from the file. Loading releases each tensor once copied, so that the whole file is
  // never resident at once beside what was made of it.
  void release(std::span<const std::byte> range) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lat::io
