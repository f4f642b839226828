#include "real_inputs.hpp"

#include <fstream>
#include <stdexcept>

namespace lat::bench {

std::vector<std::string> read_texts(const std::filesystem::path& tsv) {
  std::ifstream in(tsv, std::ios::binary);
  if (!in) throw std::runtime_error(tsv.string() + ": cannot open");
  std::vector<std::string> texts;
  std::string line;
  while (std::getline(in, line)) {
    if (line == "sentence\tlabel" || line.empty()) continue;
    texts.push_back(line.substr(0, line.find('\t')));
  }
  if (texts.empty()) throw std::runtime_error(tsv.string() + ": no texts");
  return texts;
}

std::vector<Encoding> real_inputs(const Encoder& encoder, const std::vector<std::string>& texts,
                                  int length, int count, std::size_t first) {
  const Tokenizer& tok = encoder.tokenizer();
  const std::int32_t cls = tok.special_id(SpecialToken::kCls).value_or(0);
  const std::int32_t sep = tok.special_id(SpecialToken::kSep).value_or(0);
  std::vector<Encoding> out;
  std::size_t next = first;
  for (int i = 0; i < count; ++i) {
    Encoding e;
    e.ids.push_back(cls);
    while (static_cast<int>(e.ids.size()) < length - 1) {
      const auto pieces = tok.token_ids(texts[next++ % texts.size()]);
      const auto room = static_cast<std::size_t>(length - 1) - e.ids.size();
      e.ids.insert(e.ids.end(), pieces.begin(),
                   pieces.begin() + static_cast<std::ptrdiff_t>(std::min(room, pieces.size())));
    }
    if (length > 1) e.ids.push_back(sep);
    e.type_ids.assign(e.ids.size(), 0);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace lat::bench
