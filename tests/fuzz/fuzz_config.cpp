// flowdrift.yaml: any input ends in a Config or a ConfigError naming file:line:col, never a
// crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "drift/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)flowdrift::drift::parse_config(text, "flowdrift.yaml");
  } catch (const flowdrift::config::ConfigError&) {
  }
  return 0;
}
