#pragma once

#include <istream>
#include <optional>
#include <string>
#include <vector>

namespace lat::cli {

// One input line: a text, or text<TAB>gold label; with pairs, first<TAB>second[<TAB>gold label].
struct LabelledText {
  std::string text;
  std::optional<std::string> gold;
  std::optional<std::string> second;  // the pair's second text
};

// Reads lines of text or text<TAB>label (`pairs`: first<TAB>second or first<TAB>second<TAB>label;
// other lines are errors naming their number); a first line whose label is "label" is a header.
std::vector<LabelledText> read_labelled(std::istream& in, bool pairs = false);
// "-": standard input.
std::vector<LabelledText> read_labelled_file(const std::string& path, bool pairs = false);

// A gold label given as a name or an index, as a label index; throws when it is neither.
int gold_index(const std::string& gold, const std::vector<std::string>& names);

}  // namespace lat::cli
