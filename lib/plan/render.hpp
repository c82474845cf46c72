// How a plan's writes become requests, per API (plan.hpp: render_request). Internal to lib/plan.
#pragma once

#include <string>
#include <string_view>

#include "plan/plan.hpp"

namespace flowdrift::plan {

// Where a request names an object this plan creates: its identifier is known after apply.
inline constexpr const char* kKnownAfterApply = "(known after apply)";


Result<Request> render_v3(const Write& w, const Target& target);
Result<Request> render_v4(const Write& w, const Target& target);

}  // namespace flowdrift::plan
