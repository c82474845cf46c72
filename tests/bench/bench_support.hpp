// What the poll-cycle benchmarks share (bench_cycle, bench_fleet): their sites as pcsim
// processes, a cycle of the daemon's App, and the process measurements they print.
#pragma once

#include <malloc.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "http/client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace flowdrift::bench {

using Clock = std::chrono::steady_clock;

inline double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) this process has used: flowdrift's own cost, whatever the
// simulated sites (separate processes on the same cores) take.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU time of a child process so far (utime + stime of /proc/PID/stat).
inline double process_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt (fields 3..13)
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// This process's resident set now (VmRSS of /proc/self/status), in KiB.
inline long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// Bytes malloc has handed out and not had back, every arena (glibc's mallinfo2), in KiB: RSS
// less what freed memory the allocator still keeps.
inline long heap_in_use_kib() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<long>((m.uordblks + m.hblkhd) / 1024);
}

// One App::poll_all_once on the App's own event loop, to the end.
inline void run_cycle(app::App& a) {
  bool done = false;
  asio::co_spawn(a.io(), a.poll_all_once(), [&](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    done = true;
    a.io().stop();
  });
  a.io().restart();
  a.io().run();
  if (!done) throw std::runtime_error("cycle did not complete");
}

inline awaitable<void> post_churn(http::HttpTransport* t, std::string auth, bool on, int* status) {
  http::HttpRequest r;
  r.method = "POST";
  r.target = "/_pcsim/churn";
  r.headers = {{"Authorization", auth}, {"Content-Type", "application/json"}};
  r.body = on ? R"({"enabled":true})" : R"({"enabled":false})";
  auto res = co_await t->send(std::move(r), std::chrono::seconds(10));
  *status = res ? res->status : -1;
}

// Turns pcsim's churn (one policy edited per policy listing) on or off.
inline void set_churn(app::App& a, std::uint16_t port, const std::string& ca,
                      const std::string& password, bool on) {
  http::ClientOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.ca_file = ca;
  http::BeastTransport t(a.io().get_executor(), o);
  int status = 0;
  asio::co_spawn(a.io(), post_churn(&t, http::basic_auth_header("admin", password), on, &status),
                 asio::detached);
  a.io().restart();
  a.io().run();
  if (status != 200) throw std::runtime_error("pcsim churn request: HTTP " + std::to_string(status));
}

// The database's bytes on disk, after a checkpoint folded the WAL in.
inline std::uintmax_t db_bytes(app::App& a, const std::string& path) {
  a.store().db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
  std::uintmax_t total = std::filesystem::file_size(path);
  std::error_code ec;
  auto wal = std::filesystem::file_size(path + "-wal", ec);
  return total + (ec ? 0 : wal);
}

inline std::int64_t count_rows(app::App& a, const std::string& sql) {
  return a.store().db().prepare(sql).query_int64().value_or(0);
}

// A simulated site: a pcsim process serving `data` in API mode `mode`, its TLS files and port
// file in dir/name. The process runs until the returned handle is destroyed.
inline std::unique_ptr<test::Process> start_pcsim(const test::TempDir& dir, const std::string& name,
                                                 const std::string& data, const std::string& mode,
                                                 const std::string& password) {
  std::filesystem::create_directories(dir.file(name));
  return std::make_unique<test::Process>(
      std::vector<std::string>{test::build_dir() + "/tests/pcsim/pcsim", "--listen", "127.0.0.1:0",
                               "--tls-dir", dir.file(name), "--port-file", dir.file(name) + "/port",
                               "--data", data, "--api-mode", mode, "--log-level", "warn"},
      dir.file(name) + "/pcsim.log", std::vector<std::string>{"PCSIM_PASSWORD=" + password});
}

// A site's entry in the daemon's YAML, configured as an operator would (the loader's defaults
// for everything else); the password comes from BENCH_PC_PASSWORD.
inline std::string site_yaml(const std::string& name, std::uint16_t port, const std::string& ca,
                             const std::string& interval) {
  return "  - name: " + name + "\n    url: https://127.0.0.1:" + std::to_string(port) +
         "\n    username: admin\n    password_env: BENCH_PC_PASSWORD\n    ca_file: " + ca +
         "\n    interval: " + interval + "\n    request_timeout: 60s\n    poll_timeout: 60s\n";
}

// Runs `work` in a child process and waits for it: what it allocates never counts towards this
// process's peak RSS. False when it did not exit 0.
template <class Work>
bool in_child(Work work) {
  const pid_t child = fork();
  if (child == 0) {
    work();
    _exit(0);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

}  // namespace flowdrift::bench
