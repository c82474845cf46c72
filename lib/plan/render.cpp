#include "plan/render.hpp"

namespace flowdrift::plan {

Result<Request> render_request(const Write& w, const Target& target) {
  // `desired` comes from a plan file, which a person may have edited: a shape the renderers
  // do not expect is an error naming the write, never an exception.
  try {
    return target.api == config::Api::V4 ? render_v4(w, target) : render_v3(w, target);
  } catch (const std::exception& e) {
    return make_error(ErrorReason::Malformed, std::string(policy::to_string(w.kind)) + " '" +
                                                  w.name + "': not a canonical object: " + e.what());
  }
}

Result<Request> render_now(const Write& w, const Target& target) {
  Write now = w;
  if (auto it = target.objects.find({w.kind, w.name}); it != target.objects.end()) {
    now.target_id = it->second.id;
  }
  return render_request(now, target);
}

}  // namespace flowdrift::plan
