#include "labelled_text.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "flags.hpp"

namespace lat::cli {

std::vector<LabelledText> read_labelled(std::istream& in) {
  std::vector<LabelledText> lines;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto tab = line.rfind('\t');
    LabelledText l{line, std::nullopt};
    if (tab != std::string::npos) l = {line.substr(0, tab), line.substr(tab + 1)};
    const bool header = first && l.gold == "label";
    first = false;
    if (!header) lines.push_back(std::move(l));
  }
  return lines;
}

std::vector<LabelledText> read_labelled_file(const std::string& path) {
  if (path == "-") return read_labelled(std::cin);
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  return read_labelled(file);
}

int gold_index(const std::string& gold, const std::vector<std::string>& names) {
  const auto it = std::find(names.begin(), names.end(), gold);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  std::int64_t index = -1;
  try {
    index = read_integer(gold);
  } catch (const BadValue&) {
  }
  if (index < 0 || index >= static_cast<std::int64_t>(names.size())) {
    throw std::runtime_error("gold label '" + gold + "' is neither a label name nor an index");
  }
  return static_cast<int>(index);
}

}  // namespace lat::cli
