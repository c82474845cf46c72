// SimulatedPc: a Prism Central for API-logic tests, with no socket: a ScriptedTransport whose
// answers come from pcsim::Simulator::handle, the one description of how a PC answers. The
// simulator's wire faults become what BeastTransport reports for them: DropConnection a
// retryable Connect error, TruncateBody a retryable Truncated error, a delay a wait on the
// transport's timer (past the request timeout: a retryable Timeout). Header-only; a test binary
// that includes it links flowdrift_pcsim.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pcsim/simulator.hpp"
#include "support/scripted_transport.hpp"

namespace flowdrift::test {

// What a client sees of one server reply (see the header comment).
inline ScriptedReply client_view(http::ServerReply reply) {
  ScriptedReply out{std::move(reply.response), reply.delay};
  switch (reply.fault) {
    case http::ServerReply::Fault::None:
      break;
    case http::ServerReply::Fault::DropConnection:
      out.result = make_error(ErrorReason::Connect,
                              "connection to pcsim closed before a response (scripted drop)", true);
      break;
    case http::ServerReply::Fault::TruncateBody:
      out.result = make_error(ErrorReason::Truncated,
                              "response from pcsim cut short (scripted truncation)", true);
      break;
  }
  return out;
}

class SimulatedPc {
 public:
  // Runs before the simulator answers: may change the site (an edit mid-poll) or answer in its
  // place (what no PC sends but a network does: a TLS failure, a proxy's page).
  using Before =
      std::function<std::optional<ScriptedReply>(pcsim::Simulator&, const http::HttpRequest&)>;
  // Rewrites a response the simulator gave, for a page shape no pcsim knob produces.
  using Rewrite = std::function<void(const http::HttpRequest&, http::HttpResponse&)>;

  explicit SimulatedPc(const pcsim::SiteData& site, pcsim::SimulatorOptions options = {})
      : sim(site, std::move(options)),
        transport(ScriptedTransport::DelayedResponder(
            [this](const http::HttpRequest& r) { return answer(r); })) {}
  SimulatedPc(const SimulatedPc&) = delete;
  SimulatedPc& operator=(const SimulatedPc&) = delete;

  ScriptedReply answer(const http::HttpRequest& request) {
    if (before) {
      if (auto reply = before(sim, request)) return std::move(*reply);
    }
    http::HttpRequest local = request;
    if (!base_path.empty()) {
      // A reverse proxy in front of the PC: the prefix is stripped, anything else is not found.
      if (local.target.compare(0, base_path.size(), base_path) != 0) {
        http::HttpResponse r;
        r.status = 404;
        r.body = "no such path";
        return ScriptedReply{std::move(r), {}};
      }
      local.target.erase(0, base_path.size());
    }
    ScriptedReply reply = client_view(sim.handle(local));
    if (rewrite && reply.result.has_value()) rewrite(request, reply.result.value());
    return reply;
  }

  // A further transport onto this PC, for an owner that wants its own (a Collector).
  std::unique_ptr<ScriptedTransport> new_transport() {
    return std::make_unique<ScriptedTransport>(ScriptedTransport::DelayedResponder(
        [this](const http::HttpRequest& r) { return answer(r); }));
  }

  pcsim::Simulator sim;
  ScriptedTransport transport;
  std::string base_path;  // e.g. "/pc": requests come under it, pcsim serves below it
  Before before;
  Rewrite rewrite;
};

// The requests `transport` saw whose path ends with `suffix`, in order.
inline std::vector<const http::HttpRequest*> requests_to(const ScriptedTransport& transport,
                                                        std::string_view suffix) {
  std::vector<const http::HttpRequest*> out;
  for (const auto& r : transport.requests) {
    const auto path = r.path();
    if (path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix) {
      out.push_back(&r);
    }
  }
  return out;
}

}  // namespace flowdrift::test
