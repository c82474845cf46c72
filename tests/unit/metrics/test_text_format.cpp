// metrics::text_format against prometheus-cpp's own TextSerializer: the same bytes for every
// kind of value, label and family the daemon renders, and for the types it hands over.
#include <catch2/catch.hpp>

#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>

#include "metrics/text_format.hpp"

using flowdrift::metrics::text_format;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

MetricFamily gauge_family(std::vector<double> values, MetricType type = MetricType::Gauge) {
  MetricFamily f;
  f.name = "flowdrift_test_values";
  f.help = "Values of every shape (a help text with \"quotes\" and a \\ backslash).";
  f.type = type;
  int i = 0;
  for (double v : values) {
    ClientMetric m;
    m.label = {{"i", std::to_string(i++)}, {"pair", "prod"}};
    m.gauge.value = v;
    m.counter.value = v;
    m.untyped.value = v;
    f.metric.push_back(m);
  }
  return f;
}

std::string expected(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace

TEST_CASE("the text format is prometheus-cpp's to the byte for every value", "[unit][metrics]") {
  const std::vector<double> values{0,        1,         -1,        0.5,      0.1,       1.0 / 3,
                                   2.0 / 3,  1e-7,      1.5e-300,  1e21,     123456789012345678.0,
                                   1796550146.664,      86400.25,  -0.0,     0.3,       7e-5,
                                   std::numeric_limits<double>::max(),
                                   std::numeric_limits<double>::min(),
                                   std::numeric_limits<double>::denorm_min(),
                                   std::numeric_limits<double>::quiet_NaN(),
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity()};
  for (auto type : {MetricType::Gauge, MetricType::Counter, MetricType::Untyped}) {
    const std::vector<MetricFamily> fams{gauge_family(values, type)};
    CHECK(text_format(fams) == expected(fams));
  }
}

TEST_CASE("the text format escapes label values as prometheus-cpp does", "[unit][metrics]") {
  MetricFamily f;
  f.name = "flowdrift_policy_drift";
  f.help = "";  // no HELP line
  f.type = MetricType::Gauge;
  for (std::string v : {"plain", "with \"quotes\"", "back\\slash", "new\nline", "tab\there", "",
                        "\xc3\xa9t\xc3\xa9", "\\n literally"}) {
    ClientMetric m;
    m.label = {{"policy", v}, {"severity", "critical"}};
    m.gauge.value = 1;
    f.metric.push_back(m);
  }
  ClientMetric bare;  // no labels at all
  bare.gauge.value = 2;
  f.metric.push_back(bare);
  ClientMetric stamped;
  stamped.gauge.value = 3;
  stamped.timestamp_ms = 1796550146664;
  f.metric.push_back(stamped);
  CHECK(text_format({f}) == expected({f}));
}

TEST_CASE("families of other types and empty families come out as prometheus-cpp writes them",
          "[unit][metrics]") {
  MetricFamily h;
  h.name = "flowdrift_poll_duration_seconds";
  h.help = "Poll durations.";
  h.type = MetricType::Histogram;
  ClientMetric m;
  m.label = {{"site", "primary"}};
  m.histogram.sample_count = 3;
  m.histogram.sample_sum = 4.5;
  m.histogram.bucket = {{1, 1.0}, {2, 5.0}, {3, std::numeric_limits<double>::infinity()}};
  h.metric.push_back(m);
  MetricFamily empty = gauge_family({});
  const std::vector<MetricFamily> fams{gauge_family({1, 2}), h, empty, gauge_family({0.25})};
  CHECK(text_format(fams) == expected(fams));
  CHECK(text_format({}) == expected({}));
}
