// The replica the benchmarks compare against: a generated pcsim site with some of its policies
// drifted, one of five ways in turn (shared by bench_cycle and bench_diff).
#pragma once

#include <algorithm>
#include <cstddef>

#include <nlohmann/json.hpp>

#include "pcsim/site.hpp"

namespace flowdrift::bench {

using nlohmann::json;

// The resources.*_rule object of a v3 spec (app_rule, isolation_rule, quarantine_rule).
inline json* rule_body(json& spec) {
  auto res = spec.find("resources");
  if (res == spec.end() || !res->is_object()) return nullptr;
  for (auto& [key, value] : res->items()) {
    if (key.size() > 5 && key.substr(key.size() - 5) == "_rule" && value.is_object()) return &value;
  }
  return nullptr;
}

// The replica: the source with every `every`-th policy drifted, one of five ways in turn, one
// policy deleted and one address group widened. Returns how many policies were touched.
inline std::size_t drift_replica(pcsim::SiteData& site, std::size_t every) {
  std::size_t touched = 0;
  for (std::size_t i = every / 2; i < site.rules.size(); i += every) {
    json& spec = site.rules[i].spec;
    json* body = rule_body(spec);
    if (body == nullptr) continue;
    const std::size_t how = (i / every) % 5;
    bool done = false;
    if (how == 0 || how == 1) {
      // 0: widen the ports of an inbound rule; 1: remove an outbound rule.
      const char* list = how == 0 ? "inbound_allow_list" : "outbound_allow_list";
      auto l = body->find(list);
      if (l != body->end() && l->is_array() && !l->empty()) {
        if (how == 1) {
          l->erase(l->size() - 1);
          done = true;
        } else {
          for (auto& entry : *l) {
            auto ports = entry.find("tcp_port_range_list");
            if (ports == entry.end() || !ports->is_array() || ports->empty()) continue;
            (*ports)[0]["end_port"] = std::min(65535, (*ports)[0]["end_port"].get<int>() + 100);
            done = true;
            break;
          }
        }
      }
    } else if (how == 2) {
      // A weaker mode on the replica: enforcement_mode drift.
      if (body->value("action", "") == "APPLY") {
        (*body)["action"] = "MONITOR";
        done = true;
      }
    }
    if (!done) {
      // 3, 4 and whatever the others could not change: a text edit (cosmetic).
      spec["description"] = spec.value("description", "") + " (edited on DR)";
    }
    ++touched;
  }
  if (!site.rules.empty()) {
    site.rules.erase(site.rules.begin() + static_cast<std::ptrdiff_t>(site.rules.size() / 3));
    ++touched;
  }
  // One address group one prefix bit wider: every policy using it changes behaviour.
  for (auto& ag : site.address_groups) {
    auto& blocks = ag.ip_address_block_list;
    if (blocks.empty() || blocks[0].value("prefix_length", 0) < 9) continue;
    blocks[0]["prefix_length"] = blocks[0]["prefix_length"].get<int>() - 1;
    break;
  }
  return touched;
}

}  // namespace flowdrift::bench
