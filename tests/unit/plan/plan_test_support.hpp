// What the plan tests share: performing a plan on an in-memory site as flowdriftctl apply does.
#pragma once

#include <catch2/catch.hpp>

#include "plan/plan.hpp"

namespace flowdrift::plan::test {

// Performs `plan` write by write on `applier` (perform(Request), site()), rendering each request
// from the site as it is by then (`target_of(site)`), so names created earlier have their ids.
template <class Applier, class TargetOf>
auto perform_plan(const Plan& plan, Applier& applier, TargetOf target_of) {
  for (const auto& w : plan.writes) {
    auto request = render_now(w, target_of(applier.site()));
    INFO(to_string(w.op) << " " << policy::to_string(w.kind) << " " << w.name);
    REQUIRE(request);
    applier.perform(*request);
  }
  return applier.site();
}

}  // namespace flowdrift::plan::test
