// flowdriftd under the systemd notification protocol, with the test in systemd's place: the
// daemon gets NOTIFY_SOCKET (a datagram socket this test owns), WATCHDOG_USEC and WATCHDOG_PID
// as systemd sets them for Type=notify and WatchdogSec=, and every message it sends is checked:
// READY=1 first and only once the listener answers, STATUS= naming the pair's state, WATCHDOG=1
// repeatedly, STOPPING=1 on SIGTERM; all from the main process (the unit has NotifyAccess=main).
#include <catch2/catch.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "live.hpp"

using namespace flowdrift::test;
using namespace std::chrono_literals;

namespace {

// systemd's end of the protocol: an AF_UNIX datagram socket with SO_PASSCRED, so the kernel
// attaches each sender's pid (what systemd checks for NotifyAccess=main).
class NotifySocket {
 public:
  struct Message {
    std::string text;
    pid_t sender = -1;
  };

  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof addr.sun_path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    int on = 1;
    REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    std::filesystem::remove(path_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  // The next datagram, or nullopt if none arrives within `timeout`.
  std::optional<Message> next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(fd_, &msg, 0);
    REQUIRE(n >= 0);
    Message m;
    m.text.assign(buf, static_cast<std::size_t>(n));
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        m.sender = cred.pid;
      }
    }
    return m;
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// flowdrift.yaml of one site where nothing listens: every poll fails at once.
void write_failing_site_config(const TempDir& dir) {
  write_file(dir.file("pw"), "secret\n");
  const auto unused_port = free_port();
  write_file(dir.file("flowdrift.yaml"),
             "sites:\n  - name: primary\n    url: https://127.0.0.1:" +
                 std::to_string(unused_port) + "\n    username: admin\n"
             "    password_file: pw\n    interval: 1s\n    connect_timeout: 200ms\n"
             "    request_timeout: 200ms\n    retries: 0\n"
             "storage:\n  path: flowdrift.db\nserver:\n  listen: 127.0.0.1:0\n");
}

bool has_line(const std::string& message, const std::string& line) {
  return ("\n" + message + "\n").find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("flowdriftd speaks sd_notify: READY once serving, pair states, watchdog, STOPPING",
          "[integration][systemd]") {
  TempDir dir;
  LiveSite primary(dir, "primary", 40, 7);
  LiveSite dr(dir, "dr", 40, 7);  // same seed: the pair becomes IN_SYNC
  write_file(dir.file("pc-password"), std::string(kLivePassword) + "\n");
  const auto port = free_port();
  auto site = [&](const char* name, LiveSite& s) {
    return std::string("  - name: ") + name + "\n    url: https://127.0.0.1:" +
           std::to_string(s.port()) + "\n    username: admin\n    password_file: pc-password\n" +
           "    ca_file: " + s.ca_file() + "\n    api: v3\n    interval: 1s\n    jitter: 0\n";
  };
  write_file(dir.file("flowdrift.yaml"),
             "sites:\n" + site("primary", primary) + site("dr", dr) +
                 "pairs:\n  - name: prod\n    source: primary\n    replica: dr\n"
                 "storage:\n  path: flowdrift.db\n"
                 "server:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n");

  NotifySocket notify(dir.file("notify.sock"));
  // systemd sets WATCHDOG_PID to the main process's pid; the shell's pid is flowdriftd's after
  // exec, so the daemon's own check (sd_watchdog_enabled) sees it as meant for itself.
  Process daemon({"/bin/sh", "-c", "export WATCHDOG_PID=$$; exec \"$0\" \"$@\"",
                  build_dir() + "/daemon/flowdriftd", "--config", dir.file("flowdrift.yaml")},
                 dir.file("flowdriftd.log"),
                 {"NOTIFY_SOCKET=" + dir.file("notify.sock"), "WATCHDOG_USEC=400000"});
  INFO("daemon log: " << dir.file("flowdriftd.log"));

  // The first message is READY=1, and by then the store is open and /metrics answers.
  auto ready = notify.next(30s);
  REQUIRE(ready.has_value());
  INFO("first message: " << ready->text);
  CHECK(ready->sender == daemon.pid());
  REQUIRE(has_line(ready->text, "READY=1"));
  CHECK_THAT(ready->text, Catch::Contains("STATUS=polling 2 site(s); prod="));
  CHECK(std::filesystem::exists(dir.file("flowdrift.db")));
  SyncClient scraper(port, "", false);
  auto metrics = scraper.request("GET", "/metrics", "", false);
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.body, Catch::Contains("flowdrift_pair_status"));

  // Then, while it polls: pings, and STATUS lines carrying the pair's state as it changes.
  int watchdog_pings = 0;
  bool in_sync_status = false;
  std::vector<std::string> others;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while ((watchdog_pings < 3 || !in_sync_status) && std::chrono::steady_clock::now() < deadline) {
    auto m = notify.next(1s);
    if (!m) continue;
    INFO("message: " << m->text);
    CHECK(m->sender == daemon.pid());
    CHECK_FALSE(has_line(m->text, "READY=1"));  // READY is sent once
    if (has_line(m->text, "WATCHDOG=1")) {
      ++watchdog_pings;
    } else if (has_line(m->text, "STATUS=polling 2 site(s); prod=IN_SYNC")) {
      in_sync_status = true;
    } else {
      others.push_back(m->text);
    }
  }
  INFO("pings: " << watchdog_pings << ", other messages: " << others.size());
  CHECK(watchdog_pings >= 3);
  CHECK(in_sync_status);
  for (const auto& o : others) {
    INFO("other message: " << o);
    CHECK_THAT(o, Catch::StartsWith("STATUS=polling 2 site(s); prod="));
  }

  // SIGTERM: STOPPING=1 (with the reason), and a clean exit.
  daemon.signal(SIGTERM);
  std::optional<NotifySocket::Message> stopping;
  const auto stop_deadline = std::chrono::steady_clock::now() + 20s;
  while (!stopping && std::chrono::steady_clock::now() < stop_deadline) {
    auto m = notify.next(1s);
    if (m && has_line(m->text, "STOPPING=1")) stopping = m;
  }
  REQUIRE(stopping.has_value());
  CHECK(stopping->sender == daemon.pid());
  CHECK_THAT(stopping->text, Catch::Contains("STATUS=stopping (SIGTERM)"));
  CHECK(daemon.wait(20s) == std::optional<int>(0));
}

TEST_CASE("flowdriftd sends no watchdog pings when the watchdog is meant for another process",
          "[integration][systemd]") {
  // WATCHDOG_PID names a different process (as when the variables leak into a child of a
  // service): sd_watchdog_enabled says no, and the daemon must not ping on systemd's behalf.
  TempDir dir;
  write_failing_site_config(dir);
  NotifySocket notify(dir.file("notify.sock"));
  Process daemon({build_dir() + "/daemon/flowdriftd", "--config", dir.file("flowdrift.yaml")},
                 dir.file("flowdriftd.log"),
                 {"NOTIFY_SOCKET=" + dir.file("notify.sock"), "WATCHDOG_USEC=200000",
                  "WATCHDOG_PID=" + std::to_string(::getpid())});
  auto ready = notify.next(30s);
  REQUIRE(ready.has_value());
  REQUIRE(has_line(ready->text, "READY=1"));
  // Two failed polls each send a STATUS line; a daemon that pinged
  // every 100 ms would have sent several WATCHDOG=1 in between.
  int statuses = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (statuses < 2 && std::chrono::steady_clock::now() < deadline) {
    auto m = notify.next(1s);
    if (!m) continue;
    INFO("message: " << m->text);
    CHECK_FALSE(has_line(m->text, "WATCHDOG=1"));
    if (m->text.rfind("STATUS=", 0) == 0) ++statuses;
  }
  CHECK(statuses == 2);
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == std::optional<int>(0));
}

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', at)) {
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

}  // namespace

// Under systemd (StandardError=journal) JOURNAL_STREAM names the stream journald reads: the
// daemon then prefixes every line with its sd-daemon(3) priority, so that `journalctl -p
// warning` finds warnings. There is no journald here: the test gives the daemon a file as
// stderr and JOURNAL_STREAM naming that file's device and inode, as systemd would the stream.
TEST_CASE("flowdriftd writes each line's journal priority when stderr is the journal",
          "[integration][systemd]") {
  TempDir dir;
  write_failing_site_config(dir);
  Process daemon({"/bin/sh", "-c",
                  "export JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2); exec \"$0\" \"$@\"",
                  build_dir() + "/daemon/flowdriftd", "--config", dir.file("flowdrift.yaml")},
                 dir.file("flowdriftd.log"));
  const auto log = [&] { return read_file(dir.file("flowdriftd.log")); };
  REQUIRE(wait_until([&] { return log().find("event=poll.failed") != std::string::npos; }, 30s));
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == std::optional<int>(0));

  const auto lines = lines_of(log());
  INFO(log());
  REQUIRE_FALSE(lines.empty());
  std::map<std::string, std::string> prefix_of;  // event -> its line's first 4 bytes
  for (const auto& line : lines) {
    CAPTURE(line);
    // No ts= field: journald stamps the time.
    REQUIRE(std::regex_search(line, std::regex("^<[2-7]>level=[a-z]+ component=[a-z_]+ event=")));
    const auto event = line.find("event=") + 6;
    prefix_of[line.substr(event, line.find(' ', event) - event)] = line.substr(0, 4);
  }
  CHECK(prefix_of["daemon.started"] == "<6>l");
  CHECK(prefix_of["poll.failed"] == "<4>l");
  CHECK(prefix_of["daemon.stopped"] == "<6>l");
}
