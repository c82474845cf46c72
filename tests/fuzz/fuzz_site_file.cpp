// A site file given to flowdriftctl diff (a v3 or v4 list response, a single policy, a dump):
// any input must end in a site or an Error with its place, never a crash or an abort.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ctl/site_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)flowdrift::ctl::parse_site_text(text, "fuzz.json");
  return 0;
}
