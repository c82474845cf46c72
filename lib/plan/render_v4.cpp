// A write as a v4 request (docs/prism-api.md §3).
#include "plan/render.hpp"

namespace flowdrift::plan {

Result<Request> render_v4(const Write& w, const Target& target) {
  (void)target;
  return make_error(ErrorReason::Other, "writing " + std::string(policy::to_string(w.kind)) +
                                            " objects over the v4 API is not supported yet");
}

}  // namespace flowdrift::plan
