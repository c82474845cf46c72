// A site file given to flowdriftctl diff (a v3 or v4 list response, a single policy, a dump),
// and a v3 group list given beside a v3 rules file: any input must end in a site (or groups)
// or an Error with its place, never a crash or an abort.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ctl/site_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)flowdrift::ctl::parse_site_text(text, "fuzz.json");
  (void)flowdrift::ctl::parse_v3_group_list(text, "fuzz.json", size % 2 == 0);
  return 0;
}
