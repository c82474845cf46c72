// SimulatedPc (tests/support/simulated_pc.hpp): pcsim's answers reach the client as
// BeastTransport would report them: drops and truncations as retryable transport errors,
// delays waited for and cut at the request timeout.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/simulated_pc.hpp"

using namespace flowdrift;
using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

http::HttpRequest rules_list(const std::string& prefix = "") {
  http::HttpRequest r;
  r.method = "POST";
  r.target = prefix + "/api/nutanix/v3/network_security_rules/list";
  r.headers = {{"Authorization", http::basic_auth_header("admin", "pw")},
               {"Content-Type", "application/json"}};
  r.body = R"({"kind":"network_security_rule","length":20,"offset":0})";
  return r;
}

awaitable<void> send_one(ScriptedTransport* t, http::HttpRequest request,
                         std::chrono::milliseconds timeout,
                         std::optional<Result<http::HttpResponse>>* out) {
  out->emplace(co_await t->send(std::move(request), timeout));
}

Result<http::HttpResponse> send(SimulatedPc& pc, http::HttpRequest request,
                                std::chrono::milliseconds timeout = 2000ms) {
  std::optional<Result<http::HttpResponse>> out;
  asio::io_context io;
  asio::co_spawn(io, send_one(&pc.transport, std::move(request), timeout, &out), asio::detached);
  io.run_for(std::chrono::seconds(10));
  REQUIRE(out.has_value());
  return std::move(*out);
}

pcsim::SimulatorOptions options() {
  pcsim::SimulatorOptions o;
  o.password = "pw";
  o.instance_seed = 1;
  return o;
}

// The error a rules list under `fault` fails with; a wire fault's is always retryable.
Error send_error(SimulatedPc& pc, const std::string& fault,
                 std::chrono::milliseconds timeout = 2000ms) {
  pc.sim.add_fault(pcsim::parse_fault(fault));
  auto r = send(pc, rules_list(), timeout);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().retryable);
  return r.error();
}

}  // namespace

TEST_CASE("SimulatedPc answers through Simulator::handle", "[prism][simulated_pc]") {
  SimulatedPc pc(pcsim::generate_site(3, 7), options());
  auto r = send(pc, rules_list());
  REQUIRE(r.has_value());
  CHECK(r.value().status == 200);
  CHECK(nlohmann::json::parse(r.value().body).at("entities").size() == 3);
  CHECK(pc.transport.requests.size() == 1);

  SECTION("behind a base path") {
    pc.base_path = "/pc";
    auto r2 = send(pc, rules_list("/pc"));
    REQUIRE(r2.has_value());
    CHECK(r2.value().status == 200);
    auto r3 = send(pc, rules_list());
    REQUIRE(r3.has_value());
    CHECK(r3.value().status == 404);
  }
}

TEST_CASE("SimulatedPc turns wire faults into transport errors", "[prism][simulated_pc]") {
  SimulatedPc pc(pcsim::generate_site(3, 7), options());
  SECTION("drop: retryable Connect") {
    CHECK(send_error(pc, "rules_list:drop,count=1").reason == ErrorReason::Connect);
  }
  SECTION("truncate: retryable Truncated") {
    CHECK(send_error(pc, "rules_list:truncate,count=1").reason == ErrorReason::Truncated);
  }
  SECTION("latency under the timeout: waited for, then the answer") {
    pc.sim.add_fault(pcsim::parse_fault("rules_list:latency_ms=100"));
    const auto t0 = std::chrono::steady_clock::now();
    auto r = send(pc, rules_list(), 2000ms);
    CHECK(std::chrono::steady_clock::now() - t0 >= 95ms);
    REQUIRE(r.has_value());
    CHECK(r.value().status == 200);
  }
  SECTION("latency past the timeout: retryable Timeout at the timeout") {
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(send_error(pc, "rules_list:latency_ms=5000", 100ms).reason == ErrorReason::Timeout);
    CHECK(std::chrono::steady_clock::now() - t0 < 2000ms);
  }
}
