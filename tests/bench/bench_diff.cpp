// bench_diff: the cost of one comparison (lib/diff, lib/flows, the mapping) at reference scale,
// in process, without polling or storing. Not a test: it prints numbers. A generated pcsim site
// is canonicalized as the source; the replica is the same site with ~1.5% of its policies
// drifted and one address group widened (drift_site.hpp, as bench_cycle). Both are read from
// pcsim's v3 lists in process and canonicalized once; then the pair is compared R times:
//   diff          : diff_snapshots(source, replica)
//   diff+mapping  : the same with a category and a subnet mapping, so that every replica
//                   object is translated first
// Usage: bench_diff [policies per site, default 5000] [repetitions, default 20]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"
#include "diff/diff.hpp"
#include "diff/mapping.hpp"
#include "drift_site.hpp"
#include "http/basic_auth.hpp"
#include "pcsim/simulator.hpp"
#include "policy/normalize_v3.hpp"

using namespace flowdrift;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

json post(pcsim::Simulator& sim, const std::string& path, const json& body) {
  http::HttpRequest r;
  r.method = "POST";
  r.target = "/api/nutanix/v3/" + path;
  r.body = body.dump();
  r.headers.push_back({"Authorization", http::basic_auth_header("admin", "nutanix/4u")});
  auto reply = sim.handle(r);
  if (reply.response.status != 200) {
    std::fprintf(stderr, "bench_diff: %s: HTTP %d\n", path.c_str(), reply.response.status);
    std::exit(1);
  }
  return json::parse(reply.response.body);
}

// Every entity of one v3 listing.
std::vector<json> list_all(pcsim::Simulator& sim, const std::string& path, const std::string& kind) {
  std::vector<json> out;
  for (std::size_t offset = 0;;) {
    json page = post(sim, path, {{"kind", kind}, {"offset", offset}, {"length", 500}});
    auto& entities = page.at("entities");
    for (auto& e : entities) out.push_back(std::move(e));
    offset += entities.size();
    if (entities.empty() || offset >= page.at("metadata").at("total_matches").get<std::size_t>()) {
      return out;
    }
  }
}

policy::Snapshot canonical(const pcsim::SiteData& site) {
  pcsim::Simulator sim(site);
  policy::V3SiteData data;
  data.rules = list_all(sim, "network_security_rules/list", "network_security_rule");
  data.address_groups = list_all(sim, "address_groups/list", "address_group");
  data.service_groups = list_all(sim, "service_groups/list", "service_group");
  data.category_keys = list_all(sim, "categories/list", "category");
  for (const auto& key : policy::referenced_category_keys(data.rules)) {
    data.category_values[key] = list_all(sim, "categories/" + key + "/list", "category");
  }
  auto snap = policy::canonicalize_v3(data);
  if (!snap) {
    std::fprintf(stderr, "bench_diff: %s\n", snap.error().message.c_str());
    std::exit(1);
  }
  return std::move(*snap);
}

struct Timing {
  double min_ms = 0, median_ms = 0, max_ms = 0;
  std::size_t items = 0;
  std::string digest;  // SHA-256 over every item: equal digests, equal results
};

std::string digest_of(const diff::PairResult& r) {
  std::string text;
  for (const auto& it : r.items) {
    text += it.object + '\n' + std::string(to_string(it.kind)) + ' ' +
            std::string(to_string(it.severity)) + ' ' + std::string(to_string(it.direction)) +
            '\n' + it.summary + '\n';
    for (const auto& f : it.fields) text += f.path + '\n' + f.source + '\n' + f.replica + '\n';
  }
  return sha256_hex(text).substr(0, 16);
}

template <class Compare>
Timing time_it(int repetitions, Compare compare) {
  std::vector<double> ms;
  Timing t;
  for (int i = 0; i < repetitions; ++i) {
    const auto t0 = Clock::now();
    const diff::PairResult r = compare();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    t.items = r.items.size();
    t.digest = digest_of(r);
  }
  std::sort(ms.begin(), ms.end());
  t.min_ms = ms.front();
  t.median_ms = ms[ms.size() / 2];
  t.max_ms = ms.back();
  return t;
}

void print(const char* what, const Timing& t) {
  std::printf("  %-14s min %8.1f ms  median %8.1f ms  max %8.1f ms  (%zu items, digest %s)\n",
              what, t.min_ms, t.median_ms, t.max_ms, t.items, t.digest.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t policies = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 20;
  if (policies == 0 || repetitions <= 0) {
    std::fprintf(stderr, "usage: bench_diff [policies > 0] [repetitions > 0]\n");
    return 2;
  }
  const pcsim::SiteData site = pcsim::generate_site(policies, 42);
  pcsim::SiteData drifted = site;
  const std::size_t touched = bench::drift_replica(drifted, 67);
  const policy::Snapshot source = canonical(site);
  const policy::Snapshot replica = canonical(drifted);
  std::printf("bench_diff: %zu policies per site, replica drifted in %zu, %d repetitions\n",
              policies, touched, repetitions);

  // Every replica object is translated; those the rules touch change, and the items with them
  // (a mapping applied to one side only is drift of its own).
  auto mapping = diff::make_mapping({{"Environment:Prod", "Environment:DR-Prod"}}, {},
                                    {{"10.200.0.0/16", "10.201.0.0/16"}});
  if (!mapping) {
    std::fprintf(stderr, "bench_diff: %s\n", mapping.error().message.c_str());
    return 1;
  }
  print("diff", time_it(repetitions, [&] { return diff::diff_snapshots(source, replica); }));
  print("diff+mapping",
        time_it(repetitions, [&] { return diff::diff_snapshots(source, replica, *mapping); }));
  return 0;
}
