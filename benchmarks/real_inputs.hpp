#pragma once

#include <filesystem>
#include <lat/encoder.hpp>
#include <string>
#include <vector>

namespace lat::bench {

// Texts from a TSV file (first column; a "sentence<TAB>label" header is skipped).
std::vector<std::string> read_texts(const std::filesystem::path& tsv);

// `count` inputs of exactly `length` tokens ([CLS] ... [SEP]) cut from consecutive real texts,
// joined where one text is too short, starting at text `first`.
std::vector<Encoding> real_inputs(const Encoder& encoder, const std::vector<std::string>& texts,
                                  int length, int count, std::size_t first = 0);

}  // namespace lat::bench
