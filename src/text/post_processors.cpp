// Post-processors: where the special tokens go around one or two sequences.
#include <nlohmann/json.hpp>
#include <string_view>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"

namespace lat::text {
namespace {

using Piece = Template::Piece;

// TemplateProcessing's "single" or "pair": SpecialToken and Sequence pieces. A special token
// stands for the ids its entry in "special_tokens" lists.
std::vector<Piece> template_pieces(const nlohmann::json& json, const io::JsonFields& f,
                                   const char* field) {
  const auto list = json.find(field);
  if (list == json.end() || !list->is_array()) f.fail(field, "must be an array of pieces");
  const auto specials = json.find("special_tokens");
  std::vector<Piece> out;
  for (const auto& item : *list) {
    const io::JsonFields pf(item, f.file() + " (" + field + ")");
    if (const auto s = item.find("Sequence"); s != item.end()) {
      const io::JsonFields sf(*s, pf.file());
      const std::string id = sf.string("id").value_or("");
      if (id != "A" && id != "B") sf.fail("id", "must be A or B");
      if (id == "B" && std::string_view(field) == "single")
        sf.fail("id", "is B in the template of a single text");
      out.push_back(
          {-1, id == "A" ? 0 : 1, static_cast<std::int32_t>(sf.integer_in("type_id", 0, 1 << 16))});
    } else if (const auto t = item.find("SpecialToken"); t != item.end()) {
      const io::JsonFields tf(*t, pf.file());
      const std::string name = tf.string("id").value_or("");
      const auto type_id = static_cast<std::int32_t>(tf.integer_in("type_id", 0, 1 << 16));
      if (specials == json.end() || !specials->is_object() || !specials->contains(name)) {
        f.fail("special_tokens", "has no entry for '" + name + "'");
      }
      const auto ids = (*specials)[name].find("ids");
      if (ids == (*specials)[name].end() || !ids->is_array() || ids->empty()) {
        f.fail("special_tokens", "entry '" + name + "' has no ids");
      }
      for (const auto& id : *ids) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() >= kMaxVocab) {
          f.fail("special_tokens", "entry '" + name + "' has an id outside [0, 2^24)");
        }
        out.push_back({static_cast<std::int32_t>(id.get<std::int64_t>()), 0, type_id});
      }
    } else {
      f.fail(field, "holds a piece that is neither Sequence nor SpecialToken");
    }
  }
  return out;
}

}  // namespace

Template bert_template(std::int32_t cls, std::int32_t sep) {
  return {{{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}},
          {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}, {-1, 1, 1}, {sep, 0, 1}}};
}

int Template::specials(bool is_pair) const {
  int n = 0;
  for (const Piece& p : is_pair ? pair : single) n += p.special >= 0 ? 1 : 0;
  return n;
}

Template make_template(const nlohmann::json& json, const std::string& where) {
  // No special tokens; the second text's type id is 1, as the reference's default processing.
  const Template plain{{{-1, 0, 0}}, {{-1, 0, 0}, {-1, 1, 1}}};
  if (json.is_null()) return plain;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  if (type == "ByteLevel") return plain;  // it moves offsets only
  if (type == "Sequence") {
    // The steps in order; lat runs sequences where one step at most places special tokens.
    const auto it = json.find("processors");
    if (it == json.end() || !it->is_array()) f.fail("processors", "must be an array");
    Template out = plain;
    bool placed = false;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string step_where = where + " processors[" + std::to_string(i) + "]";
      Template step = make_template((*it)[i], step_where);
      if (step.specials(false) == 0 && step.specials(true) == 0) continue;
      if (placed) {
        throw Error(ErrorCode::kUnsupported,
                    step_where +
                        ": a second step that places special tokens; lat runs "
                        "sequences with one");
      }
      out = std::move(step);
      placed = true;
    }
    return out;
  }
  if (type == "TemplateProcessing") {
    return {template_pieces(json, f, "single"), template_pieces(json, f, "pair")};
  }
  // BertProcessing's and RobertaProcessing's [token, id] pairs.
  auto token = [&](const char* field) {
    const auto it = json.find(field);
    if (it == json.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
        !(*it)[1].is_number_integer() || (*it)[1].get<std::int64_t>() < 0 ||
        (*it)[1].get<std::int64_t>() >= kMaxVocab) {
      f.fail(field, "must be [token, id] with an id in [0, 2^24)");
    }
    return static_cast<std::int32_t>((*it)[1].get<std::int64_t>());
  };
  if (type == "BertProcessing") {
    return bert_template(token("cls"), token("sep"));
  }
  if (type == "RobertaProcessing") {
    // trim_offsets and add_prefix_space move offsets only; every type id is 0.
    const auto cls = token("cls");
    const auto sep = token("sep");
    return {{{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}},
            {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}, {sep, 0, 0}, {-1, 1, 0}, {sep, 0, 0}}};
  }
  throw Error(ErrorCode::kUnsupported,
              where + ": post-processor '" + type +
                  "' is not one lat runs (TemplateProcessing, BertProcessing, RobertaProcessing, "
                  "ByteLevel, Sequence)");
}

}  // namespace lat::text
