// flowdriftd: the drift daemon. Parses arguments, loads the config, hands over to app::App.
// Exit codes: 0 clean stop, 1 runtime error (e.g. database unusable), 2 usage, 78 config error.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "core/build_info.hpp"
#include "app/app.hpp"
#include "config/config.hpp"
#include "drift/rules.hpp"
#include "config/units.hpp"
#include "http/web_config.hpp"
#include "core/log.hpp"
#include "store/store.hpp"

namespace {
constexpr int kExitConfig = 78;  // EX_CONFIG; the unit sets RestartPreventExitStatus=78
}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"flowdriftd: Nutanix Flow policy drift daemon"};
  std::string config_path = "/etc/flowdrift/flowdrift.yaml";
  bool check_only = false;
  std::string web_config_path;
  std::string read_timeout_text = "10s";
  cli.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
  cli.add_option("--web.config.file", web_config_path,
                 "exporter-toolkit web config: TLS and basic auth for the HTTP listener "
                 "(docs/security.md)");
  cli.add_option("--web.read-timeout", read_timeout_text,
                 "time a client has to send a whole request (TLS handshake, headers, body)")
      ->capture_default_str();
  bool enable_lifecycle = false;
  cli.add_flag("--web.enable-lifecycle", enable_lifecycle,
               "allow a configuration reload by POST /-/reload (else SIGHUP only); with "
               "--web.config.file it needs basic_auth_users");
  flowdrift::config::Flags flags;
  cli.add_option("--web.listen-address", flags.listen,
                 "host:port for /metrics and the API, instead of the file's server.listen");
  cli.add_option("--log.level", flags.log_level,
                 "debug, info, warn or error, instead of the file's log.level");
  cli.add_option("--log.format", flags.log_format,
                 "auto, logfmt, json or journal, instead of the file's log.format");
  cli.add_flag("--check-config", check_only, "validate the configuration and exit (0 ok, 78 bad)");
  cli.footer("Documentation: man flowdriftd, man flowdrift.yaml, and /usr/share/doc/flowdrift/ "
             "(operations.md, configuration.md, security.md, metrics.md, runbooks.md).");
  cli.set_version_flag("--version", "flowdriftd " + flowdrift::version_line());
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }

  if (const auto problems = flowdrift::config::check_flags(flags); !problems.empty()) {
    for (const auto& p : problems) std::cerr << "flowdriftd: " << p << "\n";
    return 2;
  }

  flowdrift::app::WebOptions web;
  if (auto timeout = flowdrift::config::parse_duration(read_timeout_text);
      !timeout || timeout->count() <= 0) {
    std::cerr << "flowdriftd: --web.read-timeout " << read_timeout_text << ": "
              << (timeout ? std::string("must be above zero") : timeout.error().message) << "\n";
    return 2;
  } else {
    web.read_timeout = *timeout;
  }

  flowdrift::config::Config config;
  try {
    config = flowdrift::drift::load_config(config_path);
    config.flags = flags;
    flowdrift::config::apply_flags(config);
  } catch (const flowdrift::config::ConfigError& e) {
    std::cerr << "flowdriftd: invalid configuration:\n" << e.what() << "\n";
    return kExitConfig;
  }
  if (!web_config_path.empty()) {
    try {
      web.config = flowdrift::http::load_web_config(web_config_path);
    } catch (const flowdrift::http::WebConfigError& e) {
      std::cerr << "flowdriftd: invalid web configuration:\n" << e.what() << "\n";
      return kExitConfig;
    }
  }
  web.enable_lifecycle = enable_lifecycle;
  if (enable_lifecycle && web.config && web.config->users.empty()) {
    std::cerr << "flowdriftd: --web.enable-lifecycle with " << web_config_path
              << ": the web config has no basic_auth_users, so anyone who reaches the port could "
                 "reload; add users or drop the flag\n";
    return 2;
  }
  if (check_only) {
    // Credentials are part of a usable config: check they can be read (never print them).
    try {
      for (const auto& site : config.sites) (void)flowdrift::config::read_password(site);
    } catch (const flowdrift::config::ConfigError& e) {
      std::cerr << "flowdriftd: invalid configuration:\n" << e.what() << "\n";
      return kExitConfig;
    }
    std::cout << "flowdriftd: configuration " << config_path << " is valid ("
              << config.sites.size() << " sites, " << config.pairs.size() << " pairs)\n";
    if (web.config) {
      std::cout << "flowdriftd: web configuration " << web_config_path << " is valid (TLS "
                << (web.config->tls ? "on" : "off") << ", " << web.config->users.size()
                << " basic auth users)\n";
    }
    return 0;
  }

  flowdrift::log::setup(config.log.level,
                        flowdrift::log::parse_format(config.log.format)
                            .value_or(flowdrift::log::Format::Auto));
  auto logger = flowdrift::log::get("app");
  try {
    flowdrift::app::App app(std::move(config), std::move(web));
    return app.run();
  } catch (const flowdrift::config::ConfigError& e) {
    flowdrift::log::error(logger, "config.invalid", {{"error", e.what()}});
    return kExitConfig;
  } catch (const flowdrift::store::StoreError& e) {
    flowdrift::log::error(logger, "store.open_failed", {{"error", e.what()}});
    return 1;
  } catch (const std::exception& e) {
    flowdrift::log::error(logger, "daemon.failed", {{"error", e.what()}});
    return 1;
  }
}
