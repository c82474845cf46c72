// A plan file (flowdriftctl plan -o, read back by flowdriftctl apply; a person may have edited
// it): any input must end in a plan or an Error, and every write of a plan must render to a
// request or an Error, on both APIs, never a crash, an abort or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "plan/plan.hpp"
#include "policy/baseline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = flowdrift::policy::parse_document(text, "fuzz.json", false);
  if (!doc) return 0;
  auto plan = flowdrift::plan::plan_from_json(*doc, "fuzz.json");
  if (!plan) return 0;
  (void)flowdrift::plan::plan_text(*plan);
  (void)flowdrift::plan::plan_hash(*plan);
  flowdrift::plan::Target v3;
  flowdrift::plan::Target v4;
  v4.api = flowdrift::config::Api::V4;
  for (const auto& w : plan->writes) {
    (void)flowdrift::plan::render_request(w, v3);
    (void)flowdrift::plan::render_request(w, v4);
  }
  return 0;
}
