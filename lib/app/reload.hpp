// Configuration reload planning (docs/operations.md "Reloading the configuration"): what a new
// configuration changes compared with the running one, site by site and pair by pair, so that
// the daemon replaces only the collectors of sites that changed and leaves the others polling
// untouched. Pure: no I/O (the caller reads credentials and CA files and passes digests).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace flowdrift::app {

// Digests of what a site's connection depends on beyond its config fields: the password
// content (never kept as text here) and the CA file content. Keyed by site name.
struct SiteSecrets {
  std::string password_sha256;
  std::string ca_file_sha256;  // empty when the site has no ca_file
};
using SecretsBySite = std::map<std::string, SiteSecrets>;

// The config keys (e.g. "url", "interval", "password") in which two declarations of a site
// differ; empty when the site is the same. `line` (where it is declared) is not compared.
std::vector<std::string> site_differences(const config::SiteConfig& before,
                                          const SiteSecrets& before_secrets,
                                          const config::SiteConfig& after,
                                          const SiteSecrets& after_secrets);
// Same for a pair ("source", "mappings", "expected", "debounce", "max_skew", ...).
std::vector<std::string> pair_differences(const config::PairConfig& before,
                                          const config::PairConfig& after);

struct ReloadPlan {
  std::vector<std::string> sites_added, sites_removed, sites_unchanged;
  std::map<std::string, std::vector<std::string>> sites_changed;  // site -> keys
  std::vector<std::string> pairs_added, pairs_removed, pairs_unchanged;
  std::map<std::string, std::vector<std::string>> pairs_changed;  // pair -> keys
  std::vector<std::string> settings_changed;  // applied live: "log.level", "storage.retention"...
  // Keys that only a restart can apply ("server.listen: ... -> ..."): the reload is rejected.
  std::vector<std::string> needs_restart;

  bool changes_anything() const;
  // One line: "sites changed: dr (interval); pairs changed: prod (expected)" or "no changes".
  std::string summary() const;
};

ReloadPlan plan_reload(const config::Config& before, const SecretsBySite& before_secrets,
                       const config::Config& after, const SecretsBySite& after_secrets);

}  // namespace flowdrift::app
