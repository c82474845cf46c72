#include "metrics/text_format.hpp"

#include <prometheus/text_serializer.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace flowdrift::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// As an ostream in the classic locale with precision max_digits10 - 1 prints it (printf's %.16g).
void append_value(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
  } else if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general,
                                 std::numeric_limits<double>::max_digits10 - 1);
    out.append(buf, r.ptr);
  }
}

void append_label_value(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\n') {
      out += "\\n";
    } else {
      if (c == '\\' || c == '"') out += '\\';
      out += c;
    }
  }
}

void append_metric(std::string& out, const MetricFamily& f, const ClientMetric& m, double value) {
  out += f.name;
  if (!m.label.empty()) {
    out += '{';
    const char* sep = "";
    for (const auto& l : m.label) {
      out += sep;
      out += l.name;
      out += "=\"";
      append_label_value(out, l.value);
      out += '"';
      sep = ",";
    }
    out += '}';
  }
  out += ' ';
  append_value(out, value);
  if (m.timestamp_ms != 0) {
    out += ' ';
    out += std::to_string(m.timestamp_ms);
  }
  out += '\n';
}

// Counters, gauges and untyped families; false for any other type (nothing written).
bool append_simple(std::string& out, const MetricFamily& f) {
  const char* type = nullptr;
  switch (f.type) {
    case MetricType::Counter: type = "counter"; break;
    case MetricType::Gauge: type = "gauge"; break;
    case MetricType::Untyped: type = "untyped"; break;
    default: return false;
  }
  if (!f.help.empty()) out += "# HELP " + f.name + " " + f.help + "\n";
  out += "# TYPE " + f.name + " " + type + "\n";
  for (const auto& m : f.metric) {
    const double v = f.type == MetricType::Counter ? m.counter.value
                     : f.type == MetricType::Gauge ? m.gauge.value
                                                   : m.untyped.value;
    append_metric(out, f, m, v);
  }
  return true;
}

}  // namespace

std::string text_format(const std::vector<MetricFamily>& families) {
  std::string out;
  out.reserve(256 * families.size());
  for (const auto& f : families) {
    if (!append_simple(out, f)) out += prometheus::TextSerializer().Serialize({f});
  }
  return out;
}

}  // namespace flowdrift::metrics
