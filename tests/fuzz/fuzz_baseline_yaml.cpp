// A YAML baseline (flowdriftctl export --format yaml, or one edited by hand in git): any input
// must end in a snapshot or an Error with its place, never a crash or an abort.
#include <cstddef>
#include <cstdint>
#include <string>

#include "policy/baseline.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto doc = flowdrift::policy::parse_document(text, "fuzz.yaml", true);
  if (doc) (void)flowdrift::policy::read_baseline(*doc, "fuzz.yaml");
  return 0;
}
