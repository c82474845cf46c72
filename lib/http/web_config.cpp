// Web config validation: walks core's position-keeping YAML tree (read-only use), collects
// every problem with file:line:col, then loads the TLS material the way the server will.
#include "http/web_config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "core/printable.hpp"
#include "core/yaml_tree.hpp"

namespace flowdrift::http {
namespace {

namespace fs = std::filesystem;
using yaml::YamlNode;

constexpr std::size_t kMaxWebConfigBytes = 64u * 1024u;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string child(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// The exporter-toolkit headers (http_server_config.headers) and, where it restricts them, the
// values it accepts.
struct AllowedHeader {
  const char* name;
  std::vector<std::string> values;  // lower case; empty: any
};
const std::vector<AllowedHeader>& allowed_headers() {
  static const std::vector<AllowedHeader> list = {
      {"Content-Security-Policy", {}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-XSS-Protection", {}},
      {"Strict-Transport-Security", {}},
  };
  return list;
}

class Checker {
 public:
  Checker(std::string file, fs::path base) : file_(std::move(file)), base_(std::move(base)) {}

  void report(int line, int column, const std::string& path, const std::string& reason) {
    std::string text = file_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    if (!path.empty()) text += path + ": ";
    problems_.push_back({line, column, text + reason});
  }
  void report(const YamlNode& at, const std::string& path, const std::string& reason) {
    report(at.line, at.column, path, reason);
  }

  std::vector<std::string> problems() {
    std::stable_sort(problems_.begin(), problems_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    std::vector<std::string> out;
    for (auto& p : problems_) out.push_back(std::move(p.text));
    return out;
  }

  WebConfig validate(const std::optional<YamlNode>& root) {
    WebConfig out;
    if (!root || root->kind == YamlNode::Kind::Null) return out;  // empty file: plain, open
    if (!is_map(*root, "")) return out;
    for (const auto& [key, at, value] : entries(*root, "")) {
      if (key == "tls_server_config") {
        out.tls = tls(*value, key);
      } else if (key == "http_server_config") {
        out.headers = http_server(*value, key);
      } else if (key == "basic_auth_users") {
        out.users = users(*value, key);
      } else if (key == "rate_limit") {
        report(*value, key, "not supported by flowdrift (its own limits: docs/security.md)");
      } else {
        report(*at, key,
               "unknown key (expected tls_server_config, http_server_config or basic_auth_users)");
      }
    }
    return out;
  }

 private:
  struct Problem {
    int line;
    int column;
    std::string text;
  };

  bool is_map(const YamlNode& n, const std::string& path) {
    if (n.kind == YamlNode::Kind::Map) return true;
    report(n, path, std::string("must be a mapping, not ") + yaml::kind_name(n.kind));
    return false;
  }

  struct Entry {
    std::string key;
    const YamlNode* at;     // the key, for "unknown key" messages
    const YamlNode* value;
  };

  // The entries of a mapping with scalar keys, repeated keys reported (the first one is used).
  std::vector<Entry> entries(const YamlNode& map, const std::string& path) {
    std::vector<Entry> out;
    std::set<std::string> seen;
    for (const auto& [k, v] : map.entries) {
      if (k.kind != YamlNode::Kind::Scalar) {
        report(k, path, "keys must be plain strings");
        continue;
      }
      if (!seen.insert(k.value).second) {
        report(k, child(path, k.value), "repeated key");
        continue;
      }
      out.push_back({k.value, &k, &v});
    }
    return out;
  }

  std::optional<std::string> scalar(const YamlNode& n, const std::string& path) {
    if (n.kind != YamlNode::Kind::Scalar || n.value.empty()) {
      report(n, path, "must be a non-empty string");
      return std::nullopt;
    }
    return n.value;
  }

  // A readable file, relative to the web config's directory.
  std::optional<std::string> file(const YamlNode& n, const std::string& path) {
    auto value = scalar(n, path);
    if (!value) return std::nullopt;
    fs::path p(*value);
    if (p.is_relative()) p = base_ / p;
    std::ifstream in(p);
    if (!in) {
      report(n, path, "cannot read " + p.string() + ": " + std::strerror(errno));
      return std::nullopt;
    }
    return p.string();
  }

  std::optional<TlsVersion> version(const YamlNode& n, const std::string& path) {
    auto v = scalar(n, path);
    if (!v) return std::nullopt;
    if (*v == "TLS12") return TlsVersion::Tls12;
    if (*v == "TLS13") return TlsVersion::Tls13;
    if (*v == "TLS10" || *v == "TLS11") {
      report(n, path, *v + " is not supported (TLS12 or TLS13)");
    } else {
      report(n, path, "unknown TLS version '" + *v + "' (TLS12 or TLS13)");
    }
    return std::nullopt;
  }

  std::optional<TlsFiles> tls(const YamlNode& node, const std::string& path) {
    if (node.kind == YamlNode::Kind::Null) return std::nullopt;
    if (!is_map(node, path)) return std::nullopt;
    TlsFiles t;
    bool ok = true;
    bool have_cert = false, have_key = false;
    const YamlNode* ca_node = nullptr;
    const YamlNode* auth_node = nullptr;
    for (const auto& [key, at, value] : entries(node, path)) {
      const std::string p = child(path, key);
      const YamlNode& v = *value;
      if (key == "cert_file") {
        auto f = file(v, p);
        ok = ok && f.has_value();
        have_cert = true;
        if (f) t.cert_file = *f;
      } else if (key == "key_file") {
        auto f = file(v, p);
        ok = ok && f.has_value();
        have_key = true;
        if (f) t.key_file = *f;
      } else if (key == "client_ca_file") {
        auto f = file(v, p);
        ok = ok && f.has_value();
        ca_node = &v;
        if (f) t.client_ca_file = *f;
      } else if (key == "client_auth_type") {
        auth_node = &v;
        auto a = scalar(v, p);
        if (!a) {
          ok = false;
        } else if (*a == "NoClientCert") {
          t.client_auth = ClientAuth::None;
        } else if (*a == "VerifyClientCertIfGiven") {
          t.client_auth = ClientAuth::VerifyIfGiven;
        } else if (*a == "RequireAndVerifyClientCert") {
          t.client_auth = ClientAuth::RequireAndVerify;
        } else if (*a == "RequestClientCert" || *a == "RequireAnyClientCert") {
          ok = false;
          report(v, p, *a + " accepts certificates it does not verify: not supported "
                            "(use RequireAndVerifyClientCert)");
        } else {
          ok = false;
          report(v, p, "unknown client_auth_type '" + *a +
                           "' (NoClientCert, VerifyClientCertIfGiven or "
                           "RequireAndVerifyClientCert)");
        }
      } else if (key == "min_version" || key == "max_version") {
        auto ver = version(v, p);
        ok = ok && ver.has_value();
        if (ver) (key == "min_version" ? t.min_version : t.max_version) = *ver;
      } else if (key == "cert" || key == "key" || key == "client_ca") {
        ok = false;
        report(v, p, "inline PEM is not supported by flowdrift (use " + key + "_file)");
      } else if (key == "client_allowed_sans" || key == "cipher_suites" ||
                 key == "prefer_server_cipher_suites" || key == "curve_preferences") {
        ok = false;
        report(v, p, "not supported by flowdrift (OpenSSL's defaults apply; see docs/security.md)");
      } else {
        ok = false;
        report(*at, p, "unknown key");
      }
    }
    if (!have_cert) report(node, path, "cert_file is required");
    if (!have_key) report(node, path, "key_file is required");
    ok = ok && have_cert && have_key;
    if (t.client_auth != ClientAuth::None && t.client_ca_file.empty() && ca_node == nullptr) {
      ok = false;
      report(*auth_node, child(path, "client_auth_type"),
             "verifying client certificates needs client_ca_file");
    }
    if (t.client_auth == ClientAuth::None && ca_node != nullptr) {
      ok = false;
      report(*ca_node, child(path, "client_ca_file"),
             "client_ca_file is set but client_auth_type is NoClientCert (set it to "
             "RequireAndVerifyClientCert)");
    }
    if (t.min_version == TlsVersion::Tls13 && t.max_version == TlsVersion::Tls12) {
      ok = false;
      report(node, path, "min_version TLS13 is above max_version TLS12");
    }
    if (!ok) return std::nullopt;
    try {
      check_tls_files(t);
    } catch (const std::exception& e) {
      report(node, path, e.what());
      return std::nullopt;
    }
    return t;
  }

  std::vector<Header> http_server(const YamlNode& node, const std::string& path) {
    std::vector<Header> out;
    if (node.kind == YamlNode::Kind::Null || !is_map(node, path)) return out;
    for (const auto& [key, at, value] : entries(node, path)) {
      const std::string p = child(path, key);
      const YamlNode& v = *value;
      if (key == "http2") {
        if (v.kind != YamlNode::Kind::Scalar || (v.value != "true" && v.value != "false")) {
          report(v, p, "must be true or false");
        } else if (v.value == "true") {
          report(v, p, "flowdrift serves HTTP/1.1 only (set http2: false or remove it)");
        }
      } else if (key == "headers") {
        if (v.kind == YamlNode::Kind::Null || !is_map(v, p)) continue;
        for (const auto& [name, name_at, hv] : entries(v, p)) {
          const std::string hp = child(p, name);
          const AllowedHeader* allowed = nullptr;
          for (const auto& a : allowed_headers()) {
            if (lower(a.name) == lower(name)) allowed = &a;
          }
          if (allowed == nullptr) {
            report(*name_at, hp,
                   "header not allowed (Content-Security-Policy, X-Frame-Options, "
                   "X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security)");
            continue;
          }
          if (hv->kind == YamlNode::Kind::Null || (hv->kind == YamlNode::Kind::Scalar &&
                                                   hv->value.empty())) {
            continue;  // blank: unset, as in exporter-toolkit
          }
          auto text = scalar(*hv, hp);
          if (!text) continue;
          if (text->find_first_of("\r\n") != std::string::npos) {
            report(*hv, hp, "must be a single line");
            continue;
          }
          if (!allowed->values.empty() &&
              std::find(allowed->values.begin(), allowed->values.end(), lower(*text)) ==
                  allowed->values.end()) {
            std::string choices;
            for (const auto& c : allowed->values) choices += (choices.empty() ? "" : " or ") + c;
            report(*hv, hp, "value '" + *text + "' not allowed (" + choices + ")");
            continue;
          }
          out.push_back({allowed->name, *text});
        }
      } else {
        report(*at, p, "unknown key (http2 or headers)");
      }
    }
    return out;
  }

  std::vector<BasicAuthUser> users(const YamlNode& node, const std::string& path) {
    std::vector<BasicAuthUser> out;
    if (node.kind == YamlNode::Kind::Null || !is_map(node, path)) return out;
    for (const auto& [name, at, value] : entries(node, path)) {
      const std::string p = child(path, printable(name, 64));
      if (name.empty() || name.find(':') != std::string::npos || !is_printable(name)) {
        report(*at, p,
               "user names must be non-empty printable text without ':' (no control characters "
               "or invalid UTF-8)");
        continue;
      }
      auto hash = scalar(*value, p);
      if (!hash) continue;
      if (auto why = bcrypt_hash_problem(*hash)) {
        report(*value, p, *why);
        continue;
      }
      out.push_back({name, *hash});
    }
    return out;
  }

  std::string file_;
  fs::path base_;
  std::vector<Problem> problems_;
};

WebConfig parse(const std::string& text, const std::string& name, const fs::path& base) {
  auto parsed = yaml::parse_yaml(text);
  Checker c(name, base);
  if (parsed.error) {
    c.report(parsed.error->line, parsed.error->column, "",
             "YAML syntax error: " + parsed.error->message);
    throw WebConfigError(c.problems());
  }
  WebConfig out = c.validate(parsed.root);
  auto problems = c.problems();
  if (!problems.empty()) throw WebConfigError(std::move(problems));
  out.path = name;
  return out;
}

}  // namespace

WebConfigError::WebConfigError(std::vector<std::string> problems)
    : std::runtime_error(joined(problems)), problems_(std::move(problems)) {}

WebConfig parse_web_config(const std::string& text, const std::string& name,
                           const std::string& base_dir) {
  return parse(text, name, fs::path(base_dir));
}

WebConfig load_web_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw WebConfigError({path + ": cannot read web config file: " + std::strerror(errno)});
  }
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxWebConfigBytes) {
      throw WebConfigError({path + ": web config file is larger than 64 KiB"});
    }
  }
  std::error_code ec;
  auto absolute = fs::absolute(path, ec);
  return parse(text, path, ec ? fs::path(".") : absolute.parent_path());
}

}  // namespace flowdrift::http
