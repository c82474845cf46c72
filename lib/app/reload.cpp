#include "app/reload.hpp"

#include <algorithm>
#include <set>
#include <tuple>

namespace flowdrift::app {
namespace {

template <typename T>
void differs(std::vector<std::string>& out, const char* key, const T& a, const T& b) {
  if (!(a == b)) out.emplace_back(key);
}

// Positions in the file aside: moving a pair's lines is not a change of what it says.
bool same_mapping(const config::MappingConfig& a, const config::MappingConfig& b) {
  return a.categories == b.categories && a.names == b.names && a.subnets == b.subnets;
}

bool same_expected(const std::vector<config::ExpectedConfig>& a,
                   const std::vector<config::ExpectedConfig>& b) {
  auto text = [](const config::ExpectedConfig& e) {
    return std::tie(e.policy, e.kind, e.field, e.owner, e.reason, e.expires);
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](const auto& x, const auto& y) { return text(x) == text(y); });
}

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string join(const std::map<std::string, std::vector<std::string>>& changed) {
  std::vector<std::string> parts;
  for (const auto& [name, keys] : changed) parts.push_back(name + " (" + join(keys) + ")");
  return join(parts);
}

std::string millis(config::Millis ms) { return std::to_string(ms.count()) + "ms"; }

}  // namespace

std::vector<std::string> site_differences(const config::SiteConfig& a, const SiteSecrets& as,
                                          const config::SiteConfig& b, const SiteSecrets& bs) {
  std::vector<std::string> out;
  differs(out, "url", a.url, b.url);
  differs(out, "api", a.api, b.api);
  differs(out, "username", a.credentials.username, b.credentials.username);
  differs(out, "password_file", a.credentials.password_file, b.credentials.password_file);
  differs(out, "password_env", a.credentials.password_env, b.credentials.password_env);
  differs(out, "api_key_file", a.credentials.api_key_file, b.credentials.api_key_file);
  differs(out, "api_key_env", a.credentials.api_key_env, b.credentials.api_key_env);
  differs(out, "proxy", a.proxy, b.proxy);
  differs(out, "password", as.password_sha256, bs.password_sha256);
  differs(out, "ca_file", a.ca_file, b.ca_file);
  if (a.ca_file == b.ca_file) differs(out, "ca_file content", as.ca_file_sha256, bs.ca_file_sha256);
  differs(out, "insecure_skip_verify", a.insecure_skip_verify, b.insecure_skip_verify);
  differs(out, "interval", a.interval, b.interval);
  differs(out, "jitter", a.jitter, b.jitter);
  differs(out, "connect_timeout", a.connect_timeout, b.connect_timeout);
  differs(out, "request_timeout", a.request_timeout, b.request_timeout);
  differs(out, "poll_timeout", a.poll_timeout, b.poll_timeout);
  differs(out, "retries", a.retries, b.retries);
  differs(out, "retry_backoff", a.retry_backoff, b.retry_backoff);
  differs(out, "page_size", a.page_size, b.page_size);
  differs(out, "max_response_bytes", a.max_response_bytes, b.max_response_bytes);
  differs(out, "allow_empty", a.allow_empty, b.allow_empty);
  return out;
}

std::vector<std::string> pair_differences(const config::PairConfig& a,
                                          const config::PairConfig& b) {
  std::vector<std::string> out;
  differs(out, "source", a.source, b.source);
  differs(out, "replica", a.replica, b.replica);
  if (!same_mapping(a.mapping, b.mapping)) out.emplace_back("mappings");
  if (!same_expected(a.expected, b.expected)) out.emplace_back("expected");
  differs(out, "debounce", a.debounce_comparisons, b.debounce_comparisons);
  differs(out, "debounce_for", a.debounce_for, b.debounce_for);
  differs(out, "max_skew", a.max_skew, b.max_skew);
  return out;
}

ReloadPlan plan_reload(const config::Config& before, const SecretsBySite& before_secrets,
                       const config::Config& after, const SecretsBySite& after_secrets) {
  ReloadPlan plan;
  auto secrets = [](const SecretsBySite& m, const std::string& site) {
    auto it = m.find(site);
    return it == m.end() ? SiteSecrets{} : it->second;
  };
  for (const auto& s : after.sites) {
    const auto* old = before.find_site(s.name);
    if (old == nullptr) {
      plan.sites_added.push_back(s.name);
      continue;
    }
    auto keys = site_differences(*old, secrets(before_secrets, s.name), s,
                                 secrets(after_secrets, s.name));
    if (keys.empty()) {
      plan.sites_unchanged.push_back(s.name);
    } else {
      plan.sites_changed[s.name] = std::move(keys);
    }
  }
  for (const auto& s : before.sites) {
    if (after.find_site(s.name) == nullptr) plan.sites_removed.push_back(s.name);
  }

  std::map<std::string, const config::PairConfig*> old_pairs;
  for (const auto& p : before.pairs) old_pairs[p.name] = &p;
  std::set<std::string> new_pairs;
  for (const auto& p : after.pairs) {
    new_pairs.insert(p.name);
    auto it = old_pairs.find(p.name);
    if (it == old_pairs.end()) {
      plan.pairs_added.push_back(p.name);
      continue;
    }
    auto keys = pair_differences(*it->second, p);
    if (keys.empty()) {
      plan.pairs_unchanged.push_back(p.name);
    } else {
      plan.pairs_changed[p.name] = std::move(keys);
    }
  }
  for (const auto& p : before.pairs) {
    if (new_pairs.count(p.name) == 0) plan.pairs_removed.push_back(p.name);
  }

  // What one process holds for its whole life: the listening socket, the open database and
  // the log sink's format. Changing them in place would mean a half-applied reload, so the
  // whole reload is refused and the running configuration stays exactly what it was.
  auto restart = [&](const char* key, const std::string& was, const std::string& now) {
    if (was != now) {
      plan.needs_restart.push_back(std::string(key) + ": " + was + " -> " + now +
                                   " needs a restart");
    }
  };
  restart("server.listen", before.server.listen, after.server.listen);
  restart("storage.path", before.storage.path, after.storage.path);
  restart("log.format", before.log.format, after.log.format);

  auto live = [&](const char* key, const std::string& was, const std::string& now) {
    if (was != now) plan.settings_changed.push_back(std::string(key) + " " + was + " -> " + now);
  };
  live("log.level", before.log.level, after.log.level);
  live("storage.retention", millis(before.storage.retention), millis(after.storage.retention));
  live("storage.prune_interval", millis(before.storage.prune_interval),
       millis(after.storage.prune_interval));
  live("server.policy_series_cap", std::to_string(before.server.policy_series_cap),
       std::to_string(after.server.policy_series_cap));
  live("polling.max_concurrent", std::to_string(before.polling.max_concurrent),
       std::to_string(after.polling.max_concurrent));
  return plan;
}

bool ReloadPlan::changes_anything() const {
  return !sites_added.empty() || !sites_removed.empty() || !sites_changed.empty() ||
         !pairs_added.empty() || !pairs_removed.empty() || !pairs_changed.empty() ||
         !settings_changed.empty();
}

std::string ReloadPlan::summary() const {
  std::vector<std::string> parts;
  if (!sites_added.empty()) parts.push_back("sites added: " + join(sites_added));
  if (!sites_removed.empty()) parts.push_back("sites removed: " + join(sites_removed));
  if (!sites_changed.empty()) parts.push_back("sites changed: " + join(sites_changed));
  if (!pairs_added.empty()) parts.push_back("pairs added: " + join(pairs_added));
  if (!pairs_removed.empty()) parts.push_back("pairs removed: " + join(pairs_removed));
  if (!pairs_changed.empty()) parts.push_back("pairs changed: " + join(pairs_changed));
  if (!settings_changed.empty()) parts.push_back("settings: " + join(settings_changed));
  return parts.empty() ? "no changes" : join(parts, "; ");
}

}  // namespace flowdrift::app
