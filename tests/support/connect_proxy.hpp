// An HTTP CONNECT proxy on 127.0.0.1 for tests, as a site behind a corporate proxy is reached:
// it opens each tunnel asked for (to 127.0.0.1 only), relays the bytes both ways without
// reading them, and records each CONNECT target. With `refuse_status` it refuses every tunnel
// with that status instead.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flowdrift::test {

class ConnectProxy {
 public:
  explicit ConnectProxy(int refuse_status = 0);
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // "host:port" of every CONNECT received, in order (refused ones too).
  std::vector<std::string> targets() const;

 private:
  void accept_loop();
  void serve(int client);

  int refuse_status_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

}  // namespace flowdrift::test
