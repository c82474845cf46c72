// pcsim: a simulated Prism Central serving the v3 and v4 Flow APIs over HTTP or HTTPS on loopback, for
// the demo, end-to-end and crash tests. CLI and behaviour are documented in README.md.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "http/asio.hpp"
#include <boost/asio/signal_set.hpp>
#include "http/server.hpp"
#include "pcsim/faults.hpp"
#include "pcsim/simulator.hpp"
#include "pcsim/site.hpp"
#include "pcsim/v4.hpp"
#include "support/selfsigned.hpp"

namespace {

namespace pcsim = flowdrift::pcsim;
namespace http = flowdrift::http;
namespace log = flowdrift::log;

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read password file " + path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Written to a temporary name and renamed, so a watcher never reads a half-written port.
void write_port_file(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << '\n';
    if (!out.flush()) throw std::runtime_error("cannot write port file " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

struct Listen {
  std::string address;
  std::uint16_t port;
};

Listen parse_listen(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("--listen must be ADDRESS:PORT");
  Listen l;
  l.address = text.substr(0, colon);
  if (l.address.size() > 2 && l.address.front() == '[' && l.address.back() == ']') {
    l.address = l.address.substr(1, l.address.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    throw std::runtime_error("--listen: bad port '" + port + "'");
  }
  l.port = static_cast<std::uint16_t>(p);
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"pcsim: simulated Nutanix Prism Central (v3 and v4 Flow APIs)"};
  std::string listen = "127.0.0.1:0";
  std::string tls_dir, port_file, data_file, dump_file, user = "admin", password_file,
                                                        password_env, log_level = "info";
  std::optional<std::size_t> generate;
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> instance_seed;
  std::vector<std::string> fault_texts;
  bool churn = false;
  std::string api_mode = "both";
  std::string v4_version = "v4." + std::to_string(pcsim::v4::kNewestMinor);

  cli.add_option("--listen", listen, "ADDRESS:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  cli.add_option("--tls-dir", tls_dir,
                 "generate a CA and certificate in DIR (ca.pem, cert.pem, key.pem) and serve HTTPS");
  cli.add_option("--port-file", port_file, "write the bound port to FILE once listening");
  auto* data_opt = cli.add_option("--data", data_file, "site data file (JSON, see README.md)");
  auto* gen_opt = cli.add_option("--generate", generate, "generate a site with N policies");
  data_opt->excludes(gen_opt);
  cli.add_option("--seed", seed, "seed of --generate (same seed = same intent)")
      ->capture_default_str();
  cli.add_option("--instance-seed", instance_seed,
                 "seed of this instance's uuids/timestamps (default: random)");
  cli.add_option("--dump", dump_file, "write the site data to FILE and exit");
  cli.add_option("--user", user, "basic-auth user")->capture_default_str();
  auto* pw_file = cli.add_option("--password-file", password_file, "file holding the password");
  auto* pw_env = cli.add_option("--password-env", password_env,
                                "environment variable holding the password");
  pw_file->excludes(pw_env);
  std::string write_user, write_password_file;
  auto* wu = cli.add_option("--write-user", write_user,
                            "a separate account for writes (then --user may only read)");
  auto* wp = cli.add_option("--write-password-file", write_password_file,
                            "file holding the write account's password");
  wu->needs(wp);
  wp->needs(wu);
  std::string api_key_file;
  cli.add_option("--api-key-file", api_key_file,
                 "file holding a service account's API key, accepted as X-ntnx-api-key");
  cli.add_option("--fault", fault_texts,
                 "fault spec, repeatable: ENDPOINT:k=v,... (e.g. rules_list:status=503,count=2) or JSON");
  cli.add_flag("--churn", churn, "modify one policy on every rules-list request at offset 0");
  cli.add_option("--api-mode", api_mode,
                 "v3 (v4 paths 404), v4 (FNS Next-Gen: v3 rule APIs 410) or both")
      ->check(CLI::IsMember({"v3", "v4", "both"}))
      ->capture_default_str();
  cli.add_option("--v4-version", v4_version,
                 "newest v4 API version served (v4.0 .. v4.3); every older v4.M is served too")
      ->check([](const std::string& v) {
        const int minor = pcsim::v4::parse_version(v);
        return minor >= 0 && minor <= pcsim::v4::kNewestMinor ? std::string()
                                                              : "must be v4.0 .. v4.3";
      })
      ->capture_default_str();
  cli.add_option("--log-level", log_level, "debug, info, warn or error")->capture_default_str();
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 2;
  }

  log::setup(log_level, log::Format::Auto);
  auto logger = log::get("pcsim");
  try {
    pcsim::SiteData site;
    if (!data_file.empty()) {
      site = pcsim::load_site_file(data_file);
    } else if (generate) {
      site = pcsim::generate_site(*generate, seed);
    }
    if (!dump_file.empty()) {
      pcsim::write_site_file(dump_file, site);
      log::info(logger, "pcsim.dumped", {{"file", dump_file}, {"policies", site.rules.size()}});
      return 0;
    }

    pcsim::SimulatorOptions options;
    options.user = user;
    if (!password_file.empty()) {
      options.password = read_secret_file(password_file);
    } else if (!password_env.empty()) {
      const char* v = std::getenv(password_env.c_str());
      if (!v) throw std::runtime_error("environment variable " + password_env + " is not set");
      options.password = v;
    } else if (const char* v = std::getenv("PCSIM_PASSWORD"); v && *v) {
      options.password = v;
    }
    if (!write_user.empty()) {
      options.write_user = write_user;
      options.write_password = read_secret_file(write_password_file);
    }
    if (!api_key_file.empty()) options.api_key = read_secret_file(api_key_file);
    options.instance_seed = instance_seed;
    options.churn = churn;
    options.api_mode = api_mode;
    options.v4_version = v4_version;
    for (const auto& t : fault_texts) options.faults.push_back(pcsim::parse_fault(t));

    pcsim::Simulator sim(site, std::move(options));
    log::info(logger, "pcsim.loaded",
              {{"policies", site.rules.size()},
               {"address_groups", site.address_groups.size()},
               {"service_groups", site.service_groups.size()},
               {"category_keys", site.categories.size()},
               {"faults", fault_texts.size()},
               {"churn", churn ? "on" : "off"},
               {"api_mode", api_mode},
               {"v4_version", v4_version},
               {"v4_vpcs", site.v4.vpcs.size()},
               {"v4_entity_groups", site.v4.entity_groups.size()},
               {"v4_policies", site.v4.policies.size()}});
    site = {};  // the simulator keeps its own serialized copy

    const Listen where = parse_listen(listen);
    http::ServerOptions server_options;
    server_options.address = where.address;
    server_options.port = where.port;
    std::string ca_file;
    if (!tls_dir.empty()) {
      std::filesystem::create_directories(tls_dir);
      auto pki = flowdrift::test::generate_test_pki(tls_dir);
      http::TlsFiles files;
      files.cert_file = pki.cert_file;
      files.key_file = pki.key_file;
      server_options.tls = files;
      ca_file = pki.ca_file;
    }

    flowdrift::asio::io_context io;
    http::HttpServer server(io.get_executor(), server_options,
                            [&sim](const http::HttpRequest& req) { return sim.handle(req); });
    server.start();
    if (!port_file.empty()) write_port_file(port_file, server.port());
    log::info(logger, "pcsim.listening",
              {{"port", server.port()},
               {"address", where.address},
               {"tls", ca_file.empty() ? "off" : "on"},
               {"ca_file", ca_file.empty() ? std::string("none") : ca_file}});

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    bool stopping = false;
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      log::info(logger, "pcsim.stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
      stopping = true;
      server.stop();
    });
    while (!stopping && io.run_one() > 0) {
    }
    // Let closing connections finish; returns at once when nothing is left, else gives up.
    io.run_for(std::chrono::seconds(2));
    log::info(logger, "pcsim.stopped");
    return 0;
  } catch (const std::exception& e) {
    log::error(logger, "pcsim.failed", {{"error", e.what()}});
    return 1;
  }
}
