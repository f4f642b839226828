#include "labelled_text.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "flags.hpp"

namespace lat::cli {

namespace {

LabelledText read_pair(const std::string& line, int number) {
  std::vector<std::string> fields;
  for (std::size_t start = 0;;) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  if (fields.size() != 2 && fields.size() != 3) {
    throw std::runtime_error("line " + std::to_string(number) + ": " +
                             std::to_string(fields.size()) +
                             " tab-separated fields; a pair is first<TAB>second[<TAB>label]");
  }
  LabelledText l{fields[0], std::nullopt, fields[1]};
  if (fields.size() == 3) l.gold = fields[2];
  return l;
}

}  // namespace

std::vector<LabelledText> read_labelled(std::istream& in, bool pairs) {
  std::vector<LabelledText> lines;
  std::string line;
  bool first = true;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    LabelledText l{line, std::nullopt, std::nullopt};
    if (pairs) {
      l = read_pair(line, number);
    } else if (const auto tab = line.rfind('\t'); tab != std::string::npos) {
      l = {line.substr(0, tab), line.substr(tab + 1), std::nullopt};
    }
    const bool header = first && l.gold == "label";
    first = false;
    if (!header) lines.push_back(std::move(l));
  }
  return lines;
}

std::vector<LabelledText> read_labelled_file(const std::string& path, bool pairs) {
  try {
    if (path == "-") return read_labelled(std::cin, pairs);
    std::ifstream file(path, std::ios::binary);
    if (!file) throw std::runtime_error("cannot open");
    return read_labelled(file, pairs);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error((path == "-" ? "standard input" : path) + ": " + e.what());
  }
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
