// The command-line toolkit (tools/cli/flags.hpp): the number reader, the list reader and the
// flag table that classify, lat_tune and bench_latency read their arguments with.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "flags.hpp"

namespace {

using lat::cli::Args;
using lat::cli::BadValue;
using lat::cli::Flag;
using lat::cli::Flags;
using lat::cli::UsageError;

// The reason a reader gives for `text`, or "" when it reads.
template <typename Read>
std::string reason(Read read, const std::string& text) {
  try {
    read(text);
  } catch (const BadValue& e) {
    return e.what();
  }
  return "";
}

std::string number_reason(const std::string& text) {
  return reason([](const std::string& t) { return lat::cli::read_number(t); }, text);
}
std::string integer_reason(const std::string& text) {
  return reason([](const std::string& t) { return lat::cli::read_integer(t); }, text);
}

TEST(CliNumber, ReadsWholeFiniteNumbers) {
  EXPECT_EQ(lat::cli::read_number("1.5"), 1.5);
  EXPECT_EQ(lat::cli::read_number("-2"), -2.0);
  EXPECT_EQ(lat::cli::read_number("+3"), 3.0);
  EXPECT_EQ(lat::cli::read_number("1e3"), 1000.0);
  EXPECT_EQ(lat::cli::read_number(".25"), 0.25);
  EXPECT_EQ(lat::cli::read_number("0"), 0.0);
}

TEST(CliNumber, RefusesWhatIsNotAllANumber) {
  for (const char* bad : {"", "2x", "x2", " 2", "2 ", "1,5", "--1", "+", "-", "++1", "+-1", "0x10"})
    EXPECT_EQ(number_reason(bad), "not a number") << "'" << bad << "'";
}

TEST(CliNumber, RefusesWhatIsNotFinite) {
  for (const char* bad : {"inf", "-inf", "nan", "infinity", "NaN", "1e999", "-1e999"})
    EXPECT_EQ(number_reason(bad), "not a finite number") << bad;
}

TEST(CliInteger, ReadsWholeNumbers) {
  EXPECT_EQ(lat::cli::read_integer("12"), 12);
  EXPECT_EQ(lat::cli::read_integer("-3"), -3);
  EXPECT_EQ(lat::cli::read_integer("+7"), 7);
  EXPECT_EQ(lat::cli::read_integer("1e3"), 1000);
  EXPECT_EQ(lat::cli::read_integer("4.0"), 4);
  EXPECT_EQ(lat::cli::read_integer("9223372036854775807"),
            std::numeric_limits<std::int64_t>::max());
}

TEST(CliInteger, RefusesFractionsAndHalfReadsAndOverflow) {
  EXPECT_EQ(integer_reason("2.7"), "not a whole number");
  EXPECT_EQ(integer_reason("0.5"), "not a whole number");
  EXPECT_EQ(integer_reason("2x"), "not a number");
  EXPECT_EQ(integer_reason(""), "not a number");
  EXPECT_EQ(integer_reason("inf"), "not a finite number");
  EXPECT_EQ(integer_reason("nan"), "not a finite number");
  EXPECT_EQ(integer_reason("9223372036854775808"), "out of range");
  EXPECT_EQ(integer_reason("-99999999999999999999"), "out of range");
  EXPECT_EQ(integer_reason("1e300"), "out of range");
}

TEST(CliList, ReadsCommaSeparatedItems) {
  EXPECT_EQ(lat::cli::read_numbers("1,1.5,2"), (std::vector<double>{1, 1.5, 2}));
  EXPECT_EQ(lat::cli::read_numbers("3"), (std::vector<double>{3}));
  EXPECT_EQ(lat::cli::read_integers("32,128,512"), (std::vector<std::int64_t>{32, 128, 512}));
}

TEST(CliList, RefusesEmptyItemsAndNamesABadOne) {
  const auto numbers = [](const std::string& t) { return lat::cli::read_numbers(t); };
  const auto integers = [](const std::string& t) { return lat::cli::read_integers(t); };
  for (const char* bad : {"", ",", "32,,512", "32,", ",32"}) {
    EXPECT_EQ(reason(numbers, bad), "empty item") << "'" << bad << "'";
    EXPECT_EQ(reason(integers, bad), "empty item") << "'" << bad << "'";
  }
  EXPECT_EQ(reason(numbers, "1,x,2"), "x: not a number");
  EXPECT_EQ(reason(numbers, "1,inf"), "inf: not a finite number");
  EXPECT_EQ(reason(integers, "32,2.5"), "2.5: not a whole number");
  EXPECT_EQ(reason(numbers, "1, 2"), " 2: not a number");
  EXPECT_EQ(reason(numbers, "x"), "not a number");  // a list of one: no need to name the item
}

// A table with every kind of flag.
Flags table() {
  return Flags("prog", "does a thing",
               {Flag::text("--model", "DIR", "the model folder").required(),
                Flag::integer("--threads", "N", "threads per call").at_least(1).shows("every core"),
                Flag::integer("--batch", "N", "texts per call", "8").at_least(1),
                Flag::number("--speedup", "S", "the speedup", "1").at_least(1),
                Flag::numbers("--speedups", "LIST", "speedups to try", "1,1.5,2"),
                Flag::integers("--seq", "LIST", "sequence lengths", "32,128,512").at_least(1),
                Flag::integer("--seed", "N", "the seed", "0").at_least(0).at_most(4294967295.0),
                Flag::on_off("--json", "one JSON object per line"),
                Flag::texts("--label", "NAME=DESCRIPTION", "a label"),
                Flag::text("--precision", "fp32|bf16|int8", "the arithmetic", "fp32")
                    .one_of({"fp32", "bf16", "int8"}),
                Flag::text("--cost", "flops|calibrated|W", "the cost model", "flops")
                    .one_of({"flops", "calibrated"})
                    .or_numbers(3)},
               "[TEXT ...]");
}

// The UsageError's message for `arguments`, or "" when they read.
std::string error(const Flags& flags, const std::vector<std::string>& arguments) {
  try {
    flags.read(arguments);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string error(const std::vector<std::string>& more) {
  std::vector<std::string> arguments{"--model", "m"};
  arguments.insert(arguments.end(), more.begin(), more.end());
  return error(table(), arguments);
}

TEST(CliFlags, DefaultsWhenNothingIsGiven) {
  const Args a = table().read({"--model", "m"});
  EXPECT_EQ(a.text("--model"), "m");
  EXPECT_FALSE(a.has("--threads"));
  EXPECT_TRUE(a.has("--batch"));
  EXPECT_FALSE(a.given("--batch"));
  EXPECT_EQ(a.integer("--batch"), 8);
  EXPECT_EQ(a.number("--speedup"), 1.0);
  EXPECT_EQ(a.numbers("--speedups"), (std::vector<double>{1, 1.5, 2}));
  EXPECT_EQ(a.integers("--seq"), (std::vector<int>{32, 128, 512}));
  EXPECT_EQ(a.integer<unsigned>("--seed"), 0u);
  EXPECT_FALSE(a.on("--json"));
  EXPECT_FALSE(a.has("--label"));
  EXPECT_TRUE(a.texts("--label").empty());
  EXPECT_EQ(a.text("--precision"), "fp32");
  EXPECT_TRUE(a.positional().empty());
  EXPECT_FALSE(a.help());
}

TEST(CliFlags, ReadsGivenValuesOfEveryKind) {
  const Args a = table().read({"--model", "m", "--threads", "3", "--batch=16", "--speedup", "2.5",
                               "--speedups", "2,3", "--seq", "64", "--seed", "4294967295", "--json",
                               "--precision", "bf16", "--cost", "1e9"});
  EXPECT_EQ(a.integer("--threads"), 3);
  EXPECT_TRUE(a.given("--threads"));
  EXPECT_EQ(a.integer("--batch"), 16);
  EXPECT_EQ(a.number("--speedup"), 2.5);
  EXPECT_EQ(a.numbers("--speedups"), (std::vector<double>{2, 3}));
  EXPECT_EQ(a.integers<std::int64_t>("--seq"), (std::vector<std::int64_t>{64}));
  EXPECT_EQ(a.integer<unsigned>("--seed"), 4294967295u);
  EXPECT_TRUE(a.on("--json"));
  EXPECT_TRUE(a.has("--json"));
  EXPECT_EQ(a.text("--precision"), "bf16");
  EXPECT_EQ(a.text("--cost"), "1e9");
  EXPECT_EQ(table().read({"--model", "m", "--cost", "calibrated"}).text("--cost"), "calibrated");
}

TEST(CliFlags, RepeatedFlagsAndPositionalArguments) {
  const Args a = table().read({"first", "--label", "a=x", "--model", "m", "-", "--label", "b=y",
                               "--batch", "2", "--batch", "3", "--", "--json", "-h"});
  EXPECT_EQ(a.texts("--label"), (std::vector<std::string>{"a=x", "b=y"}));
  EXPECT_TRUE(a.has("--label"));
  EXPECT_EQ(a.integer("--batch"), 3);  // a flag given twice: the last one
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"first", "-", "--json", "-h"}));
  EXPECT_FALSE(a.on("--json"));
  EXPECT_FALSE(a.help());
  // A value is the next argument, whatever it looks like.
  EXPECT_EQ(table().read({"--model", "--json"}).text("--model"), "--json");
  EXPECT_EQ(table().read({"--model", "m", "--speedups", "-1,2"}).numbers("--speedups"),
            (std::vector<double>{-1, 2}));
}

TEST(CliFlags, ErrorsNameTheFlagAndTheValue) {
  EXPECT_EQ(error({"--threads", "2.7"}), "--threads 2.7: not a whole number");
  EXPECT_EQ(error({"--batch", "2x"}), "--batch 2x: not a number");
  EXPECT_EQ(error({"--batch", ""}), "--batch : not a number");
  EXPECT_EQ(error({"--speedup", "inf"}), "--speedup inf: not a finite number");
  EXPECT_EQ(error({"--speedup", "nan"}), "--speedup nan: not a finite number");
  EXPECT_EQ(error({"--seq", "32,,512"}), "--seq 32,,512: empty item");
  EXPECT_EQ(error({"--seq", "32,x"}), "--seq 32,x: x: not a number");
  EXPECT_EQ(error({"--speedups", "1,inf"}), "--speedups 1,inf: inf: not a finite number");
  EXPECT_EQ(error({"--threads", "0"}), "--threads 0: must be at least 1");
  EXPECT_EQ(error({"--batch=0"}), "--batch 0: must be at least 1");
  EXPECT_EQ(error({"--speedup", "0.5"}), "--speedup 0.5: must be at least 1");
  EXPECT_EQ(error({"--seq", "32,0"}), "--seq 32,0: 0: must be at least 1");
  EXPECT_EQ(error({"--seq", "0"}), "--seq 0: must be at least 1");
  EXPECT_EQ(error({"--seed", "4294967296"}), "--seed 4294967296: must be at most 4294967295");
  EXPECT_EQ(error({"--threads", "3000000000"}), "--threads 3000000000: out of range");
  EXPECT_EQ(error({"--threads", "99999999999999999999"}),
            "--threads 99999999999999999999: out of range");
  EXPECT_EQ(error({"--precision", "fp16"}), "--precision fp16: not fp32, bf16 or int8");
  EXPECT_EQ(error({"--cost", "cheap"}), "--cost cheap: not flops, calibrated or up to 3 numbers");
  EXPECT_EQ(error({"--cost", "inf"}), "--cost inf: not flops, calibrated or up to 3 numbers");
  EXPECT_EQ(error({"--cost", "1,2,3,4"}),
            "--cost 1,2,3,4: not flops, calibrated or up to 3 numbers");
  EXPECT_EQ(error({"--cost", "40,1800,2e6"}), "");
  EXPECT_EQ(error({"--foo"}), "unknown flag --foo");
  EXPECT_EQ(error({"--foo=1"}), "unknown flag --foo");
  EXPECT_EQ(error({"--json=yes"}), "--json takes no value");
  EXPECT_EQ(error(table(), {"--model"}), "--model needs a value");
  EXPECT_EQ(error(table(), {"--threads", "2"}), "--model is required");
  EXPECT_EQ(error(table(), {}), "--model is required");
}

TEST(CliFlags, PositionalArgumentsOnlyWhereTheProgramTakesThem) {
  const Flags none("prog", "does a thing", {Flag::on_off("--json", "json")});
  EXPECT_EQ(error(none, {"text"}), "unexpected argument text");
  EXPECT_EQ(none.read({"--json"}).positional().size(), 0u);
}

TEST(CliFlags, HelpAndItsTextFromTheTable) {
  const Flags flags = table();
  EXPECT_TRUE(flags.read({"--help"}).help());  // no --model needed for help
  EXPECT_TRUE(flags.read({"--model", "m", "-h"}).help());
  const std::string help = flags.help();
  EXPECT_EQ(help.rfind("prog: does a thing\n", 0), 0u) << help;
  EXPECT_NE(help.find(flags.usage()), std::string::npos);
  for (const char* line : {"--model DIR",
                           "the model folder (required)",
                           "--threads N",
                           "threads per call (default: every core)",
                           "--batch N",
                           "texts per call (default: 8)",
                           "--speedup S",
                           "(default: 1)",
                           "--speedups LIST",
                           "(default: 1,1.5,2)",
                           "--seq LIST",
                           "(default: 32,128,512)",
                           "--seed N",
                           "(default: 0)",
                           "--json",
                           "one JSON object per line",
                           "--label NAME=DESCRIPTION",
                           "a label (repeats)",
                           "--precision fp32|bf16|int8",
                           "(default: fp32)",
                           "--cost flops|calibrated|W",
                           "(default: flops)",
                           "--help, -h"})
    EXPECT_NE(help.find(line), std::string::npos) << line << "\n" << help;
  EXPECT_EQ(flags.usage(),
            "usage: prog --model DIR [--threads N] [--batch N] [--speedup S] [--speedups LIST] "
            "[--seq LIST] [--seed N] [--json] [--label NAME=DESCRIPTION]... "
            "[--precision fp32|bf16|int8] [--cost flops|calibrated|W] [TEXT ...]");
}

TEST(CliFlags, LeavesFlagsWithAPrefixToTheCaller) {
  Flags flags("bench", "measures", {Flag::integer("--threads", "N", "threads").at_least(1)});
  flags.pass_through("--benchmark_");
  const Args a =
      flags.read({"--benchmark_format=json", "--threads", "2", "--benchmark_repetitions=3"});
  EXPECT_EQ(a.passed(),
            (std::vector<std::string>{"--benchmark_format=json", "--benchmark_repetitions=3"}));
  EXPECT_EQ(a.integer("--threads"), 2);
  EXPECT_NE(flags.usage().find("[--benchmark_...]"), std::string::npos);
  EXPECT_EQ(error(Flags("bench", "measures", {}), {"--benchmark_format=json"}),
            "unknown flag --benchmark_format");
}

TEST(CliFlags, ATableThatContradictsItselfIsRefused) {
  EXPECT_THROW(Flags("p", "s", {Flag::integer("--n", "N", "n", "2.5")}), std::logic_error);
  EXPECT_THROW(Flags("p", "s", {Flag::integer("--n", "N", "n", "0").at_least(1)}),
               std::logic_error);
  EXPECT_THROW(Flags("p", "s", {Flag::on_off("--a", "a"), Flag::on_off("--a", "a")}),
               std::logic_error);
  EXPECT_THROW(Flags("p", "s", {Flag::on_off("-a", "a")}), std::logic_error);
  const Args a = table().read({"--model", "m"});
  EXPECT_THROW(a.text("--nothing"), std::logic_error);
  EXPECT_THROW(a.number("--batch"), std::logic_error);     // an integer flag
  EXPECT_THROW(a.integer("--threads"), std::logic_error);  // not given, no default
  EXPECT_THROW(table().read({"--model", "m", "--seed", "300"}).integer<std::uint8_t>("--seed"),
               std::logic_error);
}

}  // namespace
