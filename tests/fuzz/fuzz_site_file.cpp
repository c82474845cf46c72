// A site file given to flowdriftctl diff (a v3 or v4 list response, a single policy, a dump),
// and a v3 group list given beside a v3 rules file: any input must end in a site (or groups)
// or an Error with its place, never a crash or an abort. A v3 list read in pieces (as load()
// reads a regular file; json_stream), with a buffer and read size taken from the input, must
// give exactly the site the whole read gives, or nothing when the whole read refuses it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ctl/site_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto whole = flowdrift::ctl::parse_site_text(text, "fuzz.json");
  (void)flowdrift::ctl::parse_v3_group_list(text, "fuzz.json", size % 2 == 0);
  const std::size_t capacity = 64 + (size > 0 ? data[0] : 0) * 16;
  const std::size_t piece = 1 + (size > 1 ? data[size - 1] : 0);
  flowdrift::ctl::SiteFileReader reader;
  const auto pieces = reader.read_v3_list_in_pieces(
      flowdrift::json_stream::text_source(text, piece), "fuzz.json", {}, capacity);
  if (pieces && (!whole || pieces->snapshot.hash != whole->snapshot.hash ||
                 pieces->snapshot.findings != whole->snapshot.findings ||
                 pieces->kind != whole->kind)) {
    std::abort();  // read in pieces, a site the whole read does not give
  }
  return 0;
}
