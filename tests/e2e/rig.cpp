#include "rig.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "http/asio.hpp"
#include "http/server.hpp"

namespace flowdrift::test::e2e {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kAlertmanager = "/usr/bin/prometheus-alertmanager";

bool executable(const char* path) { return ::access(path, X_OK) == 0; }

std::string tail(const std::string& file, std::size_t bytes = 3000) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return "(no " + file + ")";
  auto text = read_file(file);
  if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
  return text;
}

// Replaces every match of `re` in `text` by `replacement`; returns how many there were.
std::size_t replace_all(std::string& text, const std::regex& re, const std::string& replacement) {
  std::size_t n = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) ++n;
  text = std::regex_replace(text, re, replacement);
  return n;
}

}  // namespace

void ensure_prometheus_installed() {
  if (executable(kPrometheus) && executable(kAlertmanager)) return;
  const std::string cmd =
      "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager";
  if (::geteuid() != 0) {
    FAIL(kPrometheus << " or " << kAlertmanager
                     << " is missing and this test is not running as root, so it cannot install "
                        "them; run as root: "
                     << cmd << " (or scripts/install-deps.sh --test)");
  }
  // Another test process may be installing at the same moment: wait for dpkg's lock.
  TempDir tmp;
  auto apt = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"/usr/bin/apt-get", "-o", "DPkg::Lock::Timeout=600"};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p(argv, tmp.file("apt.log"), {"DEBIAN_FRONTEND=noninteractive"});
    return p.wait(15min);
  };
  const std::vector<std::string> install{"install", "-y", "--no-install-recommends",
                                         "prometheus", "prometheus-alertmanager"};
  if (apt(install) != std::optional<int>(0)) {
    apt({"update"});  // stale package lists are the usual reason
    auto rc = apt(install);
    INFO("apt-get log:\n" << tail(tmp.file("apt.log"), 4000));
    REQUIRE(rc == std::optional<int>(0));
  }
  INFO("after " << cmd);
  REQUIRE(executable(kPrometheus));
  REQUIRE(executable(kAlertmanager));
}

std::string test_rules(const std::string& shipped, const std::string& for_duration,
                       const std::string& keep_firing_for) {
  std::string out = shipped;
  static const std::regex for_line(R"(^([ \t]+)for:[ \t]*\S+[ \t]*$)", std::regex::multiline);
  if (replace_all(out, for_line, "$1for: " + for_duration) == 0) {
    throw std::runtime_error("rules file: no 'for:' line found; has its layout changed?");
  }
  // The shipped lines carry a trailing comment; the copy drops it.
  static const std::regex keep_line(R"(^([ \t]+)keep_firing_for:[ \t]*\S+[ \t]*(#.*)?$)",
                                    std::regex::multiline);
  if (replace_all(out, keep_line, "$1keep_firing_for: " + keep_firing_for) == 0) {
    throw std::runtime_error(
        "rules file: no 'keep_firing_for:' line found; has its layout changed?");
  }
  return out;
}

std::string test_alertmanager_config(const std::string& shipped, const std::string& webhook_base) {
  std::string out = shipped;
  struct Edit {
    const char* what;
    std::regex re;
    std::string replacement;
  };
  // Alertmanager sends a group's first notification after group_wait and changes (new or
  // resolved alerts) every group_interval; repeat_interval re-sends an unchanged firing group,
  // which must not happen within a test run.
  const std::vector<Edit> edits{
      {"group_wait", std::regex(R"(^([ \t]+)group_wait:[ \t]*\S+[ \t]*$)", std::regex::multiline),
       "$1group_wait: 0s"},
      {"group_interval",
       std::regex(R"(^([ \t]+)group_interval:[ \t]*\S+[ \t]*$)", std::regex::multiline),
       "$1group_interval: 1s"},
      {"repeat_interval",
       std::regex(R"(^([ \t]+)repeat_interval:[ \t]*\S+[ \t]*$)", std::regex::multiline),
       "$1repeat_interval: 24h"},
      {"webhook url", std::regex(R"((url:[ \t]*)https?://[^/\s]+/)"), "$1" + webhook_base + "/"},
  };
  for (const auto& e : edits) {
    if (replace_all(out, e.re, e.replacement) == 0) {
      throw std::runtime_error(std::string("alertmanager config: no ") + e.what +
                               " found; has its layout changed?");
    }
  }
  return out;
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// --- Webhook ---------------------------------------------------------------------------------

struct Webhook::Impl {
  asio::io_context io;
  std::unique_ptr<http::HttpServer> server;
  std::thread thread;
  mutable std::mutex mu;
  std::vector<Notified> alerts;
  std::vector<std::string> group_names;  // groupLabels.alertname per notification
  std::vector<std::string> rejected;

  http::ServerReply handle(const http::HttpRequest& req) {
    http::ServerReply reply;
    reply.response.headers.push_back({"Content-Type", "text/plain"});
    std::lock_guard lock(mu);
    json body = json::parse(req.body, nullptr, false);
    if (req.method != "POST" || body.is_discarded() || !body.is_object() ||
        !body.contains("alerts") || !body.at("alerts").is_array()) {
      rejected.push_back(req.method + " " + req.target + " " + req.body.substr(0, 300));
      reply.response.status = 400;
      reply.response.body = "expected an Alertmanager webhook payload\n";
      return reply;
    }
    group_names.push_back(body.value("groupLabels", json::object()).value("alertname", ""));
    for (const auto& a : body.at("alerts")) {
      alerts.push_back(Notified{std::string(req.path()), body.value("receiver", ""),
                                a.value("status", ""), a.value("labels", json::object()),
                                a.value("annotations", json::object()), a.value("startsAt", "")});
    }
    reply.response.body = "ok\n";
    return reply;
  }
};

Webhook::Webhook() : impl_(std::make_unique<Impl>()) {
  http::ServerOptions opts;
  opts.address = "127.0.0.1";
  opts.port = 0;
  auto* impl = impl_.get();
  impl_->server = std::make_unique<http::HttpServer>(
      impl_->io.get_executor(), opts, [impl](const http::HttpRequest& r) { return impl->handle(r); });
  impl_->server->start();
  impl_->thread = std::thread([impl] { impl->io.run(); });
}

Webhook::~Webhook() {
  // stop() closes the acceptor and every connection, after which run() runs out of work.
  asio::post(impl_->io, [impl = impl_.get()] { impl->server->stop(); });
  impl_->thread.join();
}

std::uint16_t Webhook::port() const { return impl_->server->port(); }

std::vector<Notified> Webhook::alerts() const {
  std::lock_guard lock(impl_->mu);
  return impl_->alerts;
}

std::size_t Webhook::notifications(const std::string& alertname) const {
  std::lock_guard lock(impl_->mu);
  return static_cast<std::size_t>(
      std::count(impl_->group_names.begin(), impl_->group_names.end(), alertname));
}

std::vector<std::string> Webhook::rejected() const {
  std::lock_guard lock(impl_->mu);
  return impl_->rejected;
}

std::vector<Notified> named(const std::vector<Notified>& all, const std::string& alertname,
                            const std::string& status) {
  std::vector<Notified> out;
  for (const auto& n : all) {
    if (n.labels.value("alertname", "") == alertname && (status.empty() || n.status == status)) {
      out.push_back(n);
    }
  }
  return out;
}

// --- AlertRig --------------------------------------------------------------------------------

AlertRig::AlertRig() {
  ensure_prometheus_installed();
  // Same seed: the same generated intent on both sites, with per-instance uuids.
  primary_ = std::make_unique<LiveSite>(dir_, "primary", kPolicies, 42);
  dr_ = std::make_unique<LiveSite>(dir_, "dr", kPolicies, 42);
  daemon_ = std::make_unique<LiveDaemon>(dir_, *primary_, *dr_);
  daemon_->start();
  webhook_ = std::make_unique<Webhook>();

  const std::string source = FLOWDRIFT_SOURCE_DIR;
  write_file(dir_.file("rules.yml"),
             test_rules(read_file(source + "/config/prometheus/flowdrift-rules.yml"), kTestFor,
                        kTestKeepFiringFor));
  write_file(dir_.file("alertmanager.yml"),
             test_alertmanager_config(read_file(source + "/config/alertmanager/alertmanager.yml"),
                                      "http://127.0.0.1:" + std::to_string(webhook_->port())));

  am_port_ = free_port();
  prom_port_ = free_port();
  const std::string am = "127.0.0.1:" + std::to_string(am_port_);
  const std::string prom = "127.0.0.1:" + std::to_string(prom_port_);
  // 1 s scrapes and rule evaluations; the job name matches the rules' up{job=~".*flowdrift.*"}.
  write_file(dir_.file("prometheus.yml"),
             "global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}\n"
             "rule_files: [\"" + dir_.file("rules.yml") + "\"]\n"
             "alerting: {alertmanagers: [{static_configs: [{targets: [\"" + am + "\"]}]}]}\n"
             "scrape_configs:\n"
             "  - job_name: flowdrift\n"
             "    static_configs: [{targets: [\"127.0.0.1:" + std::to_string(daemon_->port()) +
             "\"]}]\n");

  // --cluster.listen-address= turns off gossip (else 0.0.0.0:9094); storage paths and
  // external URLs keep both away from /var/lib and the host name.
  alertmanager_ = std::make_unique<Process>(
      std::vector<std::string>{kAlertmanager, "--config.file=" + dir_.file("alertmanager.yml"),
                               "--storage.path=" + dir_.file("am-data"),
                               "--web.listen-address=" + am, "--web.external-url=http://" + am + "/",
                               "--cluster.listen-address=", "--log.level=warn"},
      dir_.file("alertmanager.log"));
  prometheus_ = std::make_unique<Process>(
      std::vector<std::string>{kPrometheus, "--config.file=" + dir_.file("prometheus.yml"),
                               "--storage.tsdb.path=" + dir_.file("tsdb"),
                               "--storage.tsdb.retention.time=1h", "--web.listen-address=" + prom,
                               "--web.external-url=http://" + prom + "/", "--log.level=warn"},
      dir_.file("prometheus.log"));

  auto ready = [](std::uint16_t port) {
    try {
      SyncClient c(port, "", false);
      return c.request("GET", "/-/ready", "", false).status == 200;
    } catch (const std::exception&) {
      return false;
    }
  };
  // A failing constructor runs no destructor: say here what the processes logged.
  if (!wait_until([&] { return ready(am_port_); }, 60s)) {
    FAIL("alertmanager not ready on " << am << "\n" << logs());
  }
  if (!wait_until([&] { return ready(prom_port_); }, 60s)) {
    FAIL("prometheus not ready on " << prom << "\n" << logs());
  }
  // Prometheus hands new targets to the scrape manager after about 5 s (discovery throttle),
  // so the first scrape comes then; the pair must be IN_SYNC in Prometheus before a scenario.
  const bool in_sync = wait_until(
      [&] {
        try {
          return !query("up{job=\"flowdrift\"} == 1").empty() &&
                 !query("flowdrift_pair_status{pair=\"prod\",status=\"IN_SYNC\"} == 1").empty();
        } catch (const std::exception&) {
          return false;
        }
      },
      60s);
  if (!in_sync) FAIL("prometheus never saw flowdriftd up with pair prod IN_SYNC\n" << logs());
}

AlertRig::~AlertRig() {
  if (std::uncaught_exceptions() > 0) std::fprintf(stderr, "%s\n", logs().c_str());
  // Prometheus first, so that nothing is scraped or sent while the rest goes away.
  prometheus_.reset();
  alertmanager_.reset();
}

json AlertRig::prom_get(const std::string& target) {
  SyncClient c(prom_port_, "", false);
  auto r = c.request("GET", target, "", false);
  if (r.status / 100 != 2) {
    throw std::runtime_error("prometheus GET " + target + " -> " + std::to_string(r.status) +
                             " " + r.body.substr(0, 500));
  }
  return json::parse(r.body);
}

json AlertRig::am_get(const std::string& target) {
  SyncClient c(am_port_, "", false);
  auto r = c.request("GET", target, "", false);
  if (r.status / 100 != 2) {
    throw std::runtime_error("alertmanager GET " + target + " -> " + std::to_string(r.status) +
                             " " + r.body.substr(0, 500));
  }
  return json::parse(r.body);
}

json AlertRig::query(const std::string& expr) {
  auto r = prom_get("/api/v1/query?query=" + url_encode(expr));
  if (r.value("status", "") != "success") {
    throw std::runtime_error("query " + expr + ": " + r.dump());
  }
  return r.at("data").at("result");
}

json AlertRig::am_alerts(const std::string& alertname) {
  return am_get("/api/v2/alerts?active=true&silenced=false&inhibited=false&filter=" +
                url_encode("alertname=\"" + alertname + "\""));
}

json AlertRig::prom_alerts(const std::string& alertname) {
  json out = json::array();
  const json answer = prom_get("/api/v1/alerts");  // named: a range-for would not extend it
  for (const auto& a : answer.at("data").at("alerts")) {
    if (a.at("labels").value("alertname", "") == alertname) out.push_back(a);
  }
  return out;
}

std::string AlertRig::last_scrape() {
  const json answer = prom_get("/api/v1/targets?state=active");
  for (const auto& t : answer.at("data").at("activeTargets")) {
    if (t.at("labels").value("job", "") == "flowdrift") return t.value("lastScrape", "");
  }
  return "";
}

std::string AlertRig::logs() const {
  std::ostringstream out;
  for (const char* f : {"primary/pcsim.log", "dr/pcsim.log", "flowdriftd.log", "alertmanager.log",
                        "prometheus.log"}) {
    out << "--- " << f << ":\n" << tail(dir_.file(f)) << "\n";
  }
  return out.str();
}

}  // namespace flowdrift::test::e2e
