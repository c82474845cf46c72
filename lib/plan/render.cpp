#include "plan/render.hpp"

#include <cctype>

namespace flowdrift::plan {

std::string path_segment(std::string_view name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

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
