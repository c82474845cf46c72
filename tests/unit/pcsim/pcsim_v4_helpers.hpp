// v4 request shortcuts of the pcsim unit tests (GET, paged GET of a whole list, GET one with
// its ETag, a request with If-Match). A header of its own so that test files with helpers of
// these names can keep including pcsim_test_helpers.hpp alone.
#pragma once

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "pcsim_test_helpers.hpp"

namespace flowdrift::pcsim::testing {

// The v4.0 paths of the objects pcsim serves.
inline const std::string kPolicies = "/api/microseg/v4.0/config/policies";
inline const std::string kAddressGroups = "/api/microseg/v4.0/config/address-groups";
inline const std::string kServiceGroups = "/api/microseg/v4.0/config/service-groups";
inline const std::string kCategories = "/api/prism/v4.0/config/categories";
inline const std::string kTasks = "/api/prism/v4.0/config/tasks";

inline http::ServerReply get(Simulator& sim, const std::string& target) {
  return sim.handle(request("GET", target));
}

inline json get_json(Simulator& sim, const std::string& target) {
  auto r = get(sim, target);
  if (r.response.status != 200) {
    throw std::runtime_error(target + ": status " + std::to_string(r.response.status));
  }
  return json::parse(r.response.body);
}

// Every object of a v4 list, following $page until a page comes back without data.
inline std::vector<json> get_all(Simulator& sim, const std::string& path) {
  std::vector<json> out;
  for (int page = 0; page < 1000; ++page) {
    auto body = get_json(sim, path + "?$limit=100&$page=" + std::to_string(page));
    if (!body.contains("data")) break;
    for (auto& d : body.at("data")) out.push_back(d);
  }
  return out;
}

// A request with an optional JSON body and If-Match header.
inline http::ServerReply send(Simulator& sim, const std::string& method, const std::string& target,
                              const json& body = nullptr, const std::string& if_match = "") {
  auto r = request(method, target, body.is_null() ? std::string() : body.dump());
  if (!if_match.empty()) r.headers.push_back({"If-Match", if_match});
  return sim.handle(r);
}

struct Got {
  json data;
  std::string etag;
};

// GET one v4 object: its `data` and ETag (both required).
inline Got get_one(Simulator& sim, const std::string& target) {
  auto r = send(sim, "GET", target);
  INFO(target << " -> " << r.response.body.substr(0, 300));
  REQUIRE(r.response.status == 200);
  auto etag = r.response.header("ETag");
  REQUIRE(etag.has_value());
  return {json::parse(r.response.body).at("data"), std::string(*etag)};
}

}  // namespace flowdrift::pcsim::testing
