#include "support/connect_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace flowdrift::test {
namespace {

constexpr int kTickMs = 100;
constexpr std::size_t kMaxRequestBytes = 8192;

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_all(int fd, const std::string& text) { return send_all(fd, text.data(), text.size()); }

// The request head, up to and including the blank line; "" if the client went away first.
std::string read_head(int fd, const std::atomic<bool>& stop) {
  std::string head;
  char c = 0;
  while (!stop && head.size() < kMaxRequestBytes && head.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTickMs) <= 0) continue;
    if (::recv(fd, &c, 1, 0) != 1) return {};
    head += c;
  }
  return head.find("\r\n\r\n") == std::string::npos ? std::string() : head;
}

// A connected socket to 127.0.0.1:`port`, or -1.
int dial_loopback(const std::string& target) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos || target.substr(0, colon) != "127.0.0.1") return -1;
  const int port = std::stoi(target.substr(colon + 1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Relays both ways until either side closes or `stop`.
void relay(int a, int b, const std::atomic<bool>& stop) {
  char buf[16384];
  while (!stop) {
    pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    if (::poll(p, 2, kTickMs) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const auto n = ::recv(p[i].fd, buf, sizeof buf, 0);
      if (n <= 0 || !send_all(p[1 - i].fd, buf, static_cast<std::size_t>(n))) return;
    }
  }
}

}  // namespace

ConnectProxy::ConnectProxy(int refuse_status) : refuse_status_(refuse_status) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 16) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener_);
    throw std::runtime_error("connect proxy: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ConnectProxy::~ConnectProxy() {
  stop_ = true;
  acceptor_.join();
  for (auto& w : workers_) w.join();
  ::close(listener_);
}

std::vector<std::string> ConnectProxy::targets() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

void ConnectProxy::accept_loop() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, kTickMs) <= 0) continue;
    const int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) continue;
    workers_.emplace_back([this, client] { serve(client); });
  }
}

void ConnectProxy::serve(int client) {
  const std::string head = read_head(client, stop_);
  // "CONNECT host:port HTTP/1.1"
  const auto first_space = head.find(' ');
  const auto second_space = head.find(' ', first_space + 1);
  if (head.rfind("CONNECT ", 0) != 0 || second_space == std::string::npos) {
    send_all(client, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
    ::close(client);
    return;
  }
  const std::string target = head.substr(first_space + 1, second_space - first_space - 1);
  {
    std::lock_guard lock(mutex_);
    targets_.push_back(target);
  }
  const int upstream = refuse_status_ ? -1 : dial_loopback(target);
  if (upstream < 0) {
    const int status = refuse_status_ ? refuse_status_ : 502;
    send_all(client, "HTTP/1.1 " + std::to_string(status) + " Refused\r\nContent-Length: 0\r\n\r\n");
    ::close(client);
    return;
  }
  if (send_all(client, "HTTP/1.1 200 Connection established\r\n\r\n")) relay(client, upstream, stop_);
  ::close(upstream);
  ::close(client);
}

}  // namespace flowdrift::test
