#include "flags.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace lat::cli {

namespace {

// The shortest text that reads back as `v` ("1", "0.5", "2147483647").
std::string shortest(double v) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::string(buffer, end);
}

// Calls `item` on each comma-separated item of `list`; an empty one is refused. A bad item of a
// longer list is named before its reason.
template <typename Item>
void for_each_item(std::string_view list, Item item) {
  const bool several = list.find(',') != std::string_view::npos;
  while (true) {
    const auto comma = list.find(',');
    const auto one = list.substr(0, comma);
    if (one.empty()) throw BadValue("empty item");
    try {
      item(one);
    } catch (const BadValue& e) {
      if (!several) throw;
      throw BadValue(std::string(one) + ": " + e.what());
    }
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

bool whole_kind(Kind kind) { return kind == Kind::kInteger || kind == Kind::kIntegers; }

// A number against the flag's bounds (for whole kinds, int's range where the table gives none).
void check_bounds(const Flag& flag, double v) {
  const bool whole = whole_kind(flag.kind);
  const auto low = whole ? flag.min.value_or(std::numeric_limits<int>::min()) : flag.min;
  const auto high = whole ? flag.max.value_or(std::numeric_limits<int>::max()) : flag.max;
  if (flag.min && v < *flag.min) throw BadValue("must be at least " + shortest(*flag.min));
  if (flag.max && v > *flag.max) throw BadValue("must be at most " + shortest(*flag.max));
  if ((low && v < *low) || (high && v > *high)) throw BadValue("out of range");
}

std::string either(const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i];
  }
  return out;
}

}  // namespace

double read_number(std::string_view text) {
  std::string_view digits = text;
  // from_chars takes no '+'; one before a digit or a point is read as a sign here.
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-' && digits[1] != '+') {
    digits.remove_prefix(1);
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range && end == digits.data() + digits.size()) {
    throw BadValue("not a finite number");
  }
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw BadValue("not a number");
  }
  if (!std::isfinite(value)) throw BadValue("not a finite number");
  return value;
}

std::int64_t read_integer(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-' && digits[1] != '+') {
    digits.remove_prefix(1);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (!digits.empty() && end == digits.data() + digits.size()) {
    if (ec == std::errc::result_out_of_range) throw BadValue("out of range");
    if (ec == std::errc()) return value;
  }
  // Not plain digits: a number written otherwise ("1e3", "4.0") counts where it is whole.
  const double v = read_number(text);
  if (v != std::floor(v)) throw BadValue("not a whole number");
  constexpr double kExact = 9007199254740992.0;  // 2^53: beyond, a double skips whole numbers
  if (std::fabs(v) > kExact) throw BadValue("out of range");
  return static_cast<std::int64_t>(v);
}

std::vector<double> read_numbers(std::string_view list) {
  std::vector<double> out;
  for_each_item(list, [&](std::string_view item) { out.push_back(read_number(item)); });
  return out;
}

std::vector<std::int64_t> read_integers(std::string_view list) {
  std::vector<std::int64_t> out;
  for_each_item(list, [&](std::string_view item) { out.push_back(read_integer(item)); });
  return out;
}

std::string value_error(std::string_view flag, std::string_view value, std::string_view reason) {
  return std::string(flag) + " " + std::string(value) + ": " + std::string(reason);
}

// ---- Flag ----------------------------------------------------------------------------------

namespace {
Flag make(Kind kind, std::string name, std::string metavar, std::string help,
          std::string fallback) {
  Flag f;
  f.name = std::move(name);
  f.kind = kind;
  f.metavar = std::move(metavar);
  f.help = std::move(help);
  f.fallback = std::move(fallback);
  return f;
}
}  // namespace

Flag Flag::text(std::string name, std::string metavar, std::string help, std::string fallback) {
  return make(Kind::kText, std::move(name), std::move(metavar), std::move(help),
              std::move(fallback));
}
Flag Flag::integer(std::string name, std::string metavar, std::string help, std::string fallback) {
  return make(Kind::kInteger, std::move(name), std::move(metavar), std::move(help),
              std::move(fallback));
}
Flag Flag::number(std::string name, std::string metavar, std::string help, std::string fallback) {
  return make(Kind::kNumber, std::move(name), std::move(metavar), std::move(help),
              std::move(fallback));
}
Flag Flag::numbers(std::string name, std::string metavar, std::string help, std::string fallback) {
  return make(Kind::kNumbers, std::move(name), std::move(metavar), std::move(help),
              std::move(fallback));
}
Flag Flag::integers(std::string name, std::string metavar, std::string help, std::string fallback) {
  return make(Kind::kIntegers, std::move(name), std::move(metavar), std::move(help),
              std::move(fallback));
}
Flag Flag::on_off(std::string name, std::string help) {
  return make(Kind::kSwitch, std::move(name), "", std::move(help), "");
}
Flag Flag::texts(std::string name, std::string metavar, std::string help) {
  return make(Kind::kTexts, std::move(name), std::move(metavar), std::move(help), "");
}

Flag Flag::required() && {
  is_required = true;
  return std::move(*this);
}
Flag Flag::at_least(double bound) && {
  min = bound;
  return std::move(*this);
}
Flag Flag::at_most(double bound) && {
  max = bound;
  return std::move(*this);
}
Flag Flag::one_of(std::vector<std::string> values) && {
  choices = std::move(values);
  return std::move(*this);
}
Flag Flag::or_numbers(int most) && {
  numbers_up_to = most;
  return std::move(*this);
}
Flag Flag::shows(std::string text) && {
  shown = std::move(text);
  return std::move(*this);
}

// ---- Args ----------------------------------------------------------------------------------

const Args::Slot& Args::slot(std::string_view flag) const {
  const auto it = slots_.find(flag);
  if (it == slots_.end()) throw std::logic_error(std::string(flag) + " is not in the flag table");
  return it->second;
}

template <typename V>
const V& Args::get(std::string_view flag, Kind kind) const {
  const Slot& s = slot(flag);
  if (s.kind != kind) throw std::logic_error(std::string(flag) + " is read as another kind");
  if (const V* v = std::get_if<V>(&s.value)) return *v;
  throw std::logic_error(std::string(flag) + " has no value: ask has() first");
}

bool Args::has(std::string_view flag) const {
  const Slot& s = slot(flag);
  if (s.kind == Kind::kSwitch || s.kind == Kind::kTexts) return s.given;
  return !std::holds_alternative<std::monostate>(s.value);
}
bool Args::given(std::string_view flag) const { return slot(flag).given; }
bool Args::on(std::string_view flag) const { return get<bool>(flag, Kind::kSwitch); }
const std::string& Args::text(std::string_view flag) const {
  return get<std::string>(flag, Kind::kText);
}
const std::vector<std::string>& Args::texts(std::string_view flag) const {
  return get<std::vector<std::string>>(flag, Kind::kTexts);
}
double Args::number(std::string_view flag) const { return get<double>(flag, Kind::kNumber); }
const std::vector<double>& Args::numbers(std::string_view flag) const {
  return get<std::vector<double>>(flag, Kind::kNumbers);
}
std::int64_t Args::whole(std::string_view flag) const {
  return get<std::int64_t>(flag, Kind::kInteger);
}
const std::vector<std::int64_t>& Args::wholes(std::string_view flag) const {
  return get<std::vector<std::int64_t>>(flag, Kind::kIntegers);
}
void Args::throw_out_of_range(std::string_view flag, std::int64_t v) {
  throw std::logic_error(std::string(flag) + " " + std::to_string(v) +
                         ": the table's bounds let through a value the program cannot hold");
}

// ---- Flags ---------------------------------------------------------------------------------

Flags::Flags(std::string program, std::string synopsis, std::vector<Flag> flags,
             std::string positional)
    : program_(std::move(program)),
      synopsis_(std::move(synopsis)),
      positional_(std::move(positional)),
      flags_(std::move(flags)) {
  Args check;
  for (std::size_t i = 0; i < flags_.size(); ++i) {
    const Flag& f = flags_[i];
    if (!f.name.starts_with("--") || f.name.size() < 3 || f.name.find('=') != std::string::npos) {
      throw std::logic_error("flag table: '" + f.name + "' is not a --name");
    }
    if (f.name == "--help") throw std::logic_error("flag table: --help is the toolkit's");
    for (std::size_t j = 0; j < i; ++j) {
      if (flags_[j].name == f.name) throw std::logic_error("flag table: " + f.name + " twice");
    }
    if (!f.fallback.empty()) {
      try {
        store(check, f, f.fallback, false);
      } catch (const UsageError& e) {
        throw std::logic_error(std::string("flag table: the default of ") + e.what());
      }
    }
  }
}

Flags& Flags::pass_through(std::string prefix) {
  pass_through_ = std::move(prefix);
  return *this;
}

const Flag* Flags::find(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

void Flags::store(Args& args, const Flag& flag, const std::string& value, bool given) const {
  Args::Slot& s = args.slots_[flag.name];
  s.kind = flag.kind;
  s.given = s.given || given;
  try {
    switch (flag.kind) {
      case Kind::kText: {
        const bool listed =
            flag.choices.empty() ||
            std::find(flag.choices.begin(), flag.choices.end(), value) != flag.choices.end();
        if (!listed) {
          bool are_numbers = false;
          if (flag.numbers_up_to > 0) {
            try {
              are_numbers = std::ssize(read_numbers(value)) <= flag.numbers_up_to;
            } catch (const BadValue&) {
            }
          }
          if (!are_numbers) {
            auto names = flag.choices;
            if (flag.numbers_up_to == 1) names.emplace_back("a number");
            if (flag.numbers_up_to > 1) {
              names.push_back("up to " + std::to_string(flag.numbers_up_to) + " numbers");
            }
            throw BadValue("not " + either(names));
          }
        }
        s.value = value;
        break;
      }
      case Kind::kTexts: {
        if (!std::holds_alternative<std::vector<std::string>>(s.value)) {
          s.value = std::vector<std::string>{};
        }
        std::get<std::vector<std::string>>(s.value).push_back(value);
        break;
      }
      case Kind::kSwitch:
        s.value = true;
        break;
      case Kind::kInteger: {
        const std::int64_t v = read_integer(value);
        check_bounds(flag, static_cast<double>(v));
        s.value = v;
        break;
      }
      case Kind::kNumber: {
        const double v = read_number(value);
        check_bounds(flag, v);
        s.value = v;
        break;
      }
      case Kind::kIntegers: {
        std::vector<std::int64_t> out;
        for_each_item(value, [&](std::string_view item) {
          const std::int64_t v = read_integer(item);
          check_bounds(flag, static_cast<double>(v));
          out.push_back(v);
        });
        s.value = std::move(out);
        break;
      }
      case Kind::kNumbers: {
        std::vector<double> out;
        for_each_item(value, [&](std::string_view item) {
          const double v = read_number(item);
          check_bounds(flag, v);
          out.push_back(v);
        });
        s.value = std::move(out);
        break;
      }
    }
  } catch (const BadValue& e) {
    throw UsageError(value_error(flag.name, value, e.what()));
  }
}

Args Flags::read(const std::vector<std::string>& arguments) const {
  Args args;
  for (const Flag& f : flags_) {
    Args::Slot& s = args.slots_[f.name];
    s.kind = f.kind;
    if (f.kind == Kind::kSwitch) s.value = false;
    if (f.kind == Kind::kTexts) s.value = std::vector<std::string>{};
    if (!f.fallback.empty()) store(args, f, f.fallback, false);
  }
  bool flags_end = false;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const std::string& arg = arguments[i];
    if (!flags_end && (arg == "--help" || arg == "-h")) {
      args.help_ = true;
      continue;
    }
    if (flags_end || !arg.starts_with("--")) {
      if (positional_.empty()) throw UsageError("unexpected argument " + arg);
      args.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_end = true;
      continue;
    }
    if (!pass_through_.empty() && arg.starts_with(pass_through_)) {
      args.passed_.push_back(arg);
      continue;
    }
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const Flag* flag = find(name);
    if (!flag) throw UsageError("unknown flag " + name);
    if (flag->kind == Kind::kSwitch) {
      if (eq != std::string::npos) throw UsageError(name + " takes no value");
      store(args, *flag, "", true);
      continue;
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 >= arguments.size()) throw UsageError(name + " needs a value");
      value = arguments[++i];
    }
    store(args, *flag, value, true);
  }
  if (!args.help_) {
    for (const Flag& f : flags_) {
      if (f.is_required && !args.slots_.at(f.name).given) {
        throw UsageError(f.name + " is required");
      }
    }
  }
  return args;
}

Args Flags::parse(int argc, const char* const* argv) const {
  std::vector<std::string> arguments;
  for (int i = 1; i < argc; ++i) arguments.emplace_back(argv[i]);
  Args args;
  try {
    args = read(arguments);
  } catch (const UsageError& e) {
    fail(e.what());
  }
  if (args.help()) {
    std::cout << help();
    std::exit(0);
  }
  return args;
}

void Flags::fail(const std::string& problem) const {
  std::cerr << program_ << ": " << problem << "\n" << usage() << "\n";
  std::exit(2);
}

std::string Flags::usage() const {
  std::string out = "usage: " + program_;
  for (const Flag& f : flags_) {
    std::string one = f.name;
    if (f.kind != Kind::kSwitch) one += " " + f.metavar;
    if (!f.is_required) one = "[" + one + "]";
    if (f.kind == Kind::kTexts) one += "...";
    out += " " + one;
  }
  if (!pass_through_.empty()) out += " [" + pass_through_ + "...]";
  if (!positional_.empty()) out += " " + positional_;
  return out;
}

std::string Flags::help() const {
  std::vector<std::pair<std::string, std::string>> rows;
  std::size_t width = 0;
  for (const Flag& f : flags_) {
    std::string left = f.name + (f.kind == Kind::kSwitch ? "" : " " + f.metavar);
    std::string right = f.help;
    if (f.is_required) {
      right += " (required)";
    } else if (!f.shown.empty() || !f.fallback.empty()) {
      right += " (default: " + (f.shown.empty() ? f.fallback : f.shown) + ")";
    }
    if (f.kind == Kind::kTexts) right += " (repeats)";
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), std::move(right));
  }
  rows.emplace_back("--help, -h", "this help");
  width = std::max(width, rows.back().first.size());
  std::ostringstream out;
  out << program_ << ": " << synopsis_ << "\n" << usage() << "\n\n";
  for (const auto& [left, right] : rows) {
    out << "  " << left << std::string(width - left.size() + 2, ' ') << right << "\n";
  }
  if (!pass_through_.empty()) out << "  " << pass_through_ << "...: passed on as they are\n";
  return out.str();
}

}  // namespace lat::cli
