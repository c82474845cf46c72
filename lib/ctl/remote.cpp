#include "ctl/remote.hpp"

#include <fstream>

#include "core/printable.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

// Boost 1.74's co_spawn needs a default-constructible result: hand it back through `out`.
awaitable<void> get_into(http::BeastTransport* transport, http::HttpRequest request,
                         std::chrono::milliseconds timeout,
                         std::optional<Result<http::HttpResponse>>* out) {
  out->emplace(co_await transport->send(std::move(request), timeout));
}

std::optional<Result<http::HttpResponse>> get(const http::ClientOptions& options,
                                              http::HttpRequest request,
                                              std::chrono::milliseconds timeout) {
  asio::io_context io;
  http::BeastTransport transport(io.get_executor(), options);
  std::optional<Result<http::HttpResponse>> out;
  asio::co_spawn(io, get_into(&transport, std::move(request), timeout, &out), asio::detached);
  io.run();
  return out;
}

// What went wrong, in the daemon's words when it said any ({"error": ...} or a text body).
std::string refusal(const http::HttpResponse& response) {
  const auto body = json::parse(response.body, nullptr, false);
  std::string why = body.is_object() && body.contains("error") && body["error"].is_string()
                        ? body["error"].get<std::string>()
                        : response.body;
  while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
  if (response.status == 401) why += " (give --auth-file with the user and password of the "
                                     "daemon's web config)";
  return "HTTP " + std::to_string(response.status) + ": " + printable(why, 300);
}

}  // namespace

std::optional<std::pair<std::string, std::string>> read_auth_file(const std::string& path,
                                                                  std::ostream& err) {
  std::ifstream f(path, std::ios::binary);
  std::string line;
  if (!f || !std::getline(f, line)) {
    err << "flowdriftctl: --auth-file " << path << ": cannot read it\n";
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0) {
    err << "flowdriftctl: --auth-file " << path
        << ": expected one line \"user:password\" (the line has no user before a ':')\n";
    return std::nullopt;
  }
  return std::make_pair(line.substr(0, colon), line.substr(colon + 1));
}

std::optional<json> fetch_document(const ServerArgs& server, const std::string& target,
                                   const std::string& schema, std::ostream& err) {
  const auto url = http::parse_url(server.url);
  if (!url) {
    err << "flowdriftctl: --server " << printable(server.url, 200)
        << ": expected http(s)://HOST[:PORT][/PATH]\n";
    return std::nullopt;
  }
  http::HttpRequest request{"GET", url->base_path + target, {}, ""};
  request.headers.push_back({"Accept", "application/json"});
  if (!server.auth_file.empty()) {
    auto auth = read_auth_file(server.auth_file, err);
    if (!auth) return std::nullopt;
    request.headers.push_back({"Authorization", http::basic_auth_header(auth->first, auth->second)});
  }
  http::ClientOptions options;
  options.host = url->host;
  options.port = url->port;
  options.tls = url->tls;
  options.ca_file = server.ca_file;
  options.user_agent = "flowdriftctl";
  std::optional<Result<http::HttpResponse>> answer;
  try {
    answer = get(options, std::move(request), std::chrono::seconds(server.timeout_seconds));
  } catch (const std::exception& e) {  // the TLS context: an unreadable CA file
    err << "flowdriftctl: --server " << server.url << ": " << e.what() << "\n";
    return std::nullopt;
  }
  const std::string where = "flowdriftctl: " + server.url + target + ": ";
  if (!answer || !*answer) {
    err << where << (answer ? answer->error().message : std::string("no answer")) << "\n";
    return std::nullopt;
  }
  if ((*answer)->status != 200) {
    err << where << refusal(**answer) << "\n";
    return std::nullopt;
  }
  auto doc = json::parse((*answer)->body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    err << where << "the answer is not a JSON object (is this flowdriftd?)\n";
    return std::nullopt;
  }
  const std::string named =
      doc.contains("schema") && doc["schema"].is_string() ? doc["schema"].get<std::string>() : "none";
  if (named != schema) {
    err << where << "expected a " << schema << " document, got " << printable(named, 80)
        << " (a flowdriftd of another version?)\n";
    return std::nullopt;
  }
  return doc;
}

}  // namespace flowdrift::ctl
