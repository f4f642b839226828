#pragma once

#include <string>

#include "lat/schedule.hpp"

// The one wording of each problem a schedule policy can have (src/schedule.cpp); each returns ""
// where there is none.
namespace lat::checks {

std::string speedup_problem(double speedup);
std::string exponents_problem(KeepExponents exponents);
std::string exponents_count_problem(KeepExponents exponents, int layers);
std::string floor_problem(double floor);
std::string cost_problem(const CostModel& cost);
// Throws lat::Error (kOption) with the problem, after "source: " where a source is named.
void fail_if(const std::string& problem, const std::string& source);
// Every check a Policy makes of its values, failing on the first problem.
void check_policy(double speedup, KeepExponents exponents, double floor, const CostModel& cost);

// Schedules on values already checked.
Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                            const CostModel& cost, KeepExponents exponents, double floor);
Schedule make_schedule(const ModelShape& shape, int tokens, double speedup, const CostModel& cost,
                       KeepExponents exponents, double floor);

}  // namespace lat::checks
