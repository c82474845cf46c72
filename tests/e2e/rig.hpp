// End-to-end alerting rig: two pcsim sites and flowdriftd (tests/integration/live.hpp), Debian's
// prometheus scraping flowdriftd with a test copy of config/prometheus/flowdrift-rules.yml, and
// Debian's prometheus-alertmanager with a test copy of config/alertmanager/alertmanager.yml whose
// receivers post to a webhook server owned by the test. Everything listens on 127.0.0.1 on free
// ports and keeps its files in one TempDir. See docs/alerting.md.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "live.hpp"

namespace flowdrift::test::e2e {

// Installs Debian's prometheus and prometheus-alertmanager with apt-get when either binary is
// missing and the test runs as root; otherwise fails the test with what to run.
void ensure_prometheus_installed();

// The shipped rules with every `for:` duration replaced by `for_duration` and every
// `keep_firing_for:` by `keep_firing_for`; nothing else changes (the expressions and
// annotations are the shipped ones). Throws naming what it did not find if the rules have no
// `for:` or no `keep_firing_for:` line.
std::string test_rules(const std::string& shipped, const std::string& for_duration,
                       const std::string& keep_firing_for);

// The shipped Alertmanager config with group_wait 0s, group_interval 1s, repeat_interval 24h
// everywhere and every webhook url's scheme://host:port replaced by `webhook_base` (paths kept,
// so the receiver shows in the path). Throws naming what it did not find.
std::string test_alertmanager_config(const std::string& shipped, const std::string& webhook_base);

// One alert of one webhook notification.
struct Notified {
  std::string path;          // request path: which receiver's url it was posted to
  std::string receiver;      // payload "receiver"
  std::string status;        // the alert's status: firing | resolved
  nlohmann::json labels;     // the alert's labels
  nlohmann::json annotations;
  std::string starts_at;
};

// Alertmanager webhook receiver: an http::HttpServer on its own thread recording every POST.
class Webhook {
 public:
  Webhook();
  ~Webhook();
  Webhook(const Webhook&) = delete;
  Webhook& operator=(const Webhook&) = delete;
  std::uint16_t port() const;
  // Every alert of every notification so far, in arrival order.
  std::vector<Notified> alerts() const;
  // Notifications (POSTs) whose groupLabels.alertname is `alertname`.
  std::size_t notifications(const std::string& alertname) const;
  // Bodies that were not a webhook payload (must stay empty).
  std::vector<std::string> rejected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Alerts of `alertname` from the webhook, optionally only those with `status`.
std::vector<Notified> named(const std::vector<Notified>& all, const std::string& alertname,
                            const std::string& status = "");

std::string url_encode(const std::string& s);

// Prometheus and Alertmanager started for one test, with the sites, daemon and webhook.
class AlertRig {
 public:
  // Starts pcsim primary and dr (same generated intent), flowdriftd, the webhook,
  // Alertmanager and Prometheus; returns once Prometheus has scraped flowdriftd and sees the
  // pair IN_SYNC.
  AlertRig();
  ~AlertRig();

  LiveSite& primary() { return *primary_; }
  LiveSite& dr() { return *dr_; }
  LiveDaemon& daemon() { return *daemon_; }
  Webhook& webhook() { return *webhook_; }
  Process& prometheus() { return *prometheus_; }
  std::uint16_t prometheus_port() const { return prom_port_; }
  std::string dir() const { return dir_.path().string(); }
  const TempDir& temp_dir() const { return dir_; }

  // GET on Prometheus / Alertmanager; throws std::runtime_error on transport errors or a
  // non-2xx answer (with the body).
  nlohmann::json prom_get(const std::string& target);
  nlohmann::json am_get(const std::string& target);
  // /api/v1/query: the result vector ([] when empty; throws on an API error).
  nlohmann::json query(const std::string& expr);
  // Active (not silenced, not inhibited, not resolved) alerts in Alertmanager named `alertname`.
  nlohmann::json am_alerts(const std::string& alertname);
  // Prometheus' own view (/api/v1/alerts) of `alertname`: pending and firing.
  nlohmann::json prom_alerts(const std::string& alertname);
  // lastScrape of the flowdriftd target as Prometheus reports it ("" before the first).
  std::string last_scrape();

  // Tails of every process log, for failure messages.
  std::string logs() const;

 private:
  TempDir dir_;
  std::unique_ptr<LiveSite> primary_;
  std::unique_ptr<LiveSite> dr_;
  std::unique_ptr<LiveDaemon> daemon_;
  std::unique_ptr<Webhook> webhook_;
  std::uint16_t am_port_ = 0;
  std::uint16_t prom_port_ = 0;
  std::unique_ptr<Process> alertmanager_;
  std::unique_ptr<Process> prometheus_;
};

// Policies per generated site: small, so a poll takes milliseconds even in Debug.
inline constexpr int kPolicies = 40;
// The `for:` of every rule in the test copy (the shipped ones are 5m to 30m).
inline constexpr const char* kTestFor = "2s";
// The `keep_firing_for:` of every rule that has one in the test copy (shipped: 5m). It must
// outlast the restart of scenario 3: three failed 1 s scrapes, the daemon's start, the next
// scrape and rule evaluation, about 5 s, with room for a loaded machine. Every resolve in the
// tests comes this much later.
inline constexpr const char* kTestKeepFiringFor = "15s";

}  // namespace flowdrift::test::e2e
