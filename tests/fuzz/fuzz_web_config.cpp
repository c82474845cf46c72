// A --web.config.file (exporter-toolkit YAML): any input ends in a WebConfig or a
// WebConfigError naming file:line:col, never a crash.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "http/web_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)flowdrift::http::parse_web_config(text, "web.yml", "/nonexistent-fuzz-dir");
  } catch (const flowdrift::http::WebConfigError&) {
  }
  return 0;
}
