#pragma once

// The command-line toolkit of lat's programs (classify, lat_tune, bench_latency, ...): a table of
// flags, each with a kind, a help line and a default, read from argv into typed values; and the
// one number reader that the flags and the programs' other arguments go through.
//
//   const lat::cli::Flags flags("classify", "label texts with a lat model",
//       {Flag::text("--model", "DIR", "the model folder").required(),
//        Flag::integer("--threads", "N", "threads per call").at_least(1).shows("every core"),
//        Flag::integer("--batch", "N", "texts per call", "8").at_least(1),
//        Flag::on_off("--json", "one JSON object per line")},
//       "[TEXT ...]");
//   const lat::cli::Args args = flags.parse(argc, argv);  // errors: message, usage, exit 2
//   int batch = args.integer("--batch");
//
// Values are read whole: "2x" is not a number, "2.7" not a whole number, "inf" and "nan" not
// finite numbers, "32,,512" has an empty item; a flag's error names the flag and the value
// ("--threads 2.7: not a whole number").

#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lat::cli {

// A value that does not read; what() is the reason only ("not a whole number"), for the caller to
// put after what it read ("--threads 2.7: not a whole number").
class BadValue : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The whole of `text` as a finite number: decimal or exponent notation, an optional sign, nothing
// before or after. Throws BadValue: "not a number", "not a finite number" (inf, nan, 1e999).
double read_number(std::string_view text);

// The whole of `text` as a whole number ("12", "-3"; "1e3" and "4.0" are whole too). Throws
// BadValue: "not a number", "not a finite number", "not a whole number", "out of range".
std::int64_t read_integer(std::string_view text);

// Comma-separated lists of the above ("32,128,512"). Throws BadValue: "empty item", or the bad
// item and its reason ("x: not a number"; a list of one item: the reason alone).
std::vector<double> read_numbers(std::string_view list);
std::vector<std::int64_t> read_integers(std::string_view list);

// "--flag value: reason", the form of every value error.
std::string value_error(std::string_view flag, std::string_view value, std::string_view reason);

// A command line the table does not accept; what() names the flag (and the value).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Kind {
  kText,      // --model DIR
  kInteger,   // --threads N
  kNumber,    // --speedup S
  kNumbers,   // --speedups 1,1.5,2
  kIntegers,  // --seq 32,128,512
  kSwitch,    // --json (no value)
  kTexts,     // --label NAME=DESCRIPTION, repeated
};

// One row of the table. Built by the named constructors and refined by the chained setters.
struct Flag {
  std::string name;  // "--threads"
  Kind kind = Kind::kText;
  std::string metavar;  // "N", shown in the usage line and the help
  std::string help;     // one line
  // The value when the flag is not given, read as a given one would be; empty: none (has() is
  // false). Shown in the help, unless `shown` says otherwise.
  std::string fallback;
  std::string shown;                 // the default as the help tells it ("every core")
  bool is_required = false;          // absent: an error
  std::optional<double> min, max;    // numeric kinds, every item of a list
  std::vector<std::string> choices;  // text: the values it takes (with numbers_up_to numbers)
  int numbers_up_to = 0;

  static Flag text(std::string name, std::string metavar, std::string help,
                   std::string fallback = "");
  static Flag integer(std::string name, std::string metavar, std::string help,
                      std::string fallback = "");
  static Flag number(std::string name, std::string metavar, std::string help,
                     std::string fallback = "");
  static Flag numbers(std::string name, std::string metavar, std::string help,
                      std::string fallback = "");
  static Flag integers(std::string name, std::string metavar, std::string help,
                       std::string fallback = "");
  static Flag on_off(std::string name, std::string help);                      // a switch
  static Flag texts(std::string name, std::string metavar, std::string help);  // repeated

  Flag required() &&;
  Flag at_least(double bound) &&;
  Flag at_most(double bound) &&;
  Flag one_of(std::vector<std::string> values) &&;  // text flags
  Flag or_numbers(int most) &&;     // with one_of: a list of 1 to `most` numbers is taken too
  Flag shows(std::string text) &&;  // the default as the help tells it
};

// What a command line said, read by the table. Asking for a flag the table lacks, or as another
// kind, is a programming error: std::logic_error.
class Args {
 public:
  bool has(std::string_view flag) const;    // given, or a default value
  bool given(std::string_view flag) const;  // given on the command line
  bool on(std::string_view flag) const;     // a switch
  const std::string& text(std::string_view flag) const;
  const std::vector<std::string>& texts(std::string_view flag) const;  // in the order given
  double number(std::string_view flag) const;
  const std::vector<double>& numbers(std::string_view flag) const;

  // A whole number as T; the table's bounds (by default int's) keep it in T's range.
  template <std::integral T = int>
  T integer(std::string_view flag) const {
    return narrow<T>(flag, whole(flag));
  }
  template <std::integral T = int>
  std::vector<T> integers(std::string_view flag) const {
    std::vector<T> out;
    for (const std::int64_t v : wholes(flag)) out.push_back(narrow<T>(flag, v));
    return out;
  }

  const std::vector<std::string>& positional() const { return positional_; }
  // The arguments left to the caller (Flags' pass_through prefix), in the order given.
  const std::vector<std::string>& passed() const { return passed_; }
  bool help() const { return help_; }  // --help or -h was given

 private:
  friend class Flags;
  using Value = std::variant<std::monostate, bool, std::string, std::vector<std::string>,
                             std::int64_t, double, std::vector<std::int64_t>, std::vector<double>>;
  struct Slot {
    Kind kind;
    Value value;
    bool given = false;
  };

  const Slot& slot(std::string_view flag) const;
  template <typename V>
  const V& get(std::string_view flag, Kind kind) const;
  std::int64_t whole(std::string_view flag) const;
  const std::vector<std::int64_t>& wholes(std::string_view flag) const;
  template <std::integral T>
  static T narrow(std::string_view flag, std::int64_t v) {
    if (!std::in_range<T>(v)) throw_out_of_range(flag, v);
    return static_cast<T>(v);
  }
  [[noreturn]] static void throw_out_of_range(std::string_view flag, std::int64_t v);

  std::map<std::string, Slot, std::less<>> slots_;
  std::vector<std::string> positional_, passed_;
  bool help_ = false;
};

class Flags {
 public:
  // `positional` names the arguments that are not flags in the usage line ("[TEXT ...]"); empty:
  // the program takes none. Throws std::logic_error where the table contradicts itself (a default
  // that does not read, a name twice, a name without "--").
  Flags(std::string program, std::string synopsis, std::vector<Flag> flags,
        std::string positional = "");

  // Arguments beginning with `prefix` ("--benchmark_") are left to the caller: Args::passed.
  Flags& pass_through(std::string prefix);

  // Reads the arguments (without the program's name): "--name value", "--name=value", switches,
  // "--help"/"-h", positional arguments, and after "--" only positional ones. Throws UsageError.
  Args read(const std::vector<std::string>& arguments) const;

  // read() over argv; on --help prints help() to standard output and exits 0, on an error prints
  // "program: problem" and the usage line to standard error and exits 2.
  Args parse(int argc, const char* const* argv) const;

  // An error the program finds in values the table accepted: as parse's errors, exit status 2.
  [[noreturn]] void fail(const std::string& problem) const;

  std::string usage() const;  // "usage: program --model DIR [--threads N] ... [TEXT ...]"
  std::string help() const;   // the synopsis, the usage line and one line per flag

  const std::string& program() const { return program_; }

 private:
  const Flag* find(std::string_view name) const;
  void store(Args& args, const Flag& flag, const std::string& value, bool given) const;

  std::string program_, synopsis_, positional_, pass_through_;
  std::vector<Flag> flags_;
};

}  // namespace lat::cli
