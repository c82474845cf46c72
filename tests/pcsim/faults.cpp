#include "pcsim/faults.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace flowdrift::pcsim {
namespace {

struct KindName {
  FaultKind kind;
  std::string_view name;
};
constexpr KindName kKindNames[] = {
    {FaultKind::None, "latency"},       {FaultKind::Status, "status"},
    {FaultKind::Malformed, "malformed"}, {FaultKind::Truncate, "truncate"},
    {FaultKind::Truncate, "truncated"},  {FaultKind::Drop, "drop"},
    {FaultKind::TotalMoved, "total_moved"}, {FaultKind::Empty, "empty"},
    {FaultKind::DuplicateKey, "duplicate_key"}, {FaultKind::Oversized, "oversized"},
    {FaultKind::ControlChars, "control_chars"}, {FaultKind::InvalidUtf8, "invalid_utf8"},
    {FaultKind::HugeNumber, "huge_number"},
};

constexpr const char* kMarker = "pcsim-hostile-marker";

// The object whose name the hostile faults change: a v3 rule's spec, a v3 group's inner object,
// a v4 item itself.
nlohmann::json* named_object(nlohmann::json& page) {
  for (const char* list : {"entities", "data"}) {
    auto it = page.find(list);
    if (it == page.end() || !it->is_array() || it->empty() || !it->front().is_object()) continue;
    auto& e = it->front();
    for (const char* inner : {"spec", "address_group", "service_group"}) {
      auto in = e.find(inner);
      if (in != e.end() && in->is_object()) return &*in;
    }
    return &e;
  }
  return nullptr;
}

bool kind_from_name(std::string_view name, FaultKind* out) {
  for (const auto& k : kKindNames) {
    if (k.name == name) {
      *out = k.kind;
      return true;
    }
  }
  return false;
}

int parse_int(std::string_view key, std::string_view value) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size()) {
    throw std::invalid_argument("fault: " + std::string(key) + " must be an integer, got '" +
                                std::string(value) + "'");
  }
  return v;
}

void validate(FaultSpec& spec) {
  if (spec.endpoint != "*" && spec.endpoint != "writes" &&
      std::find(std::begin(kFaultEndpoints), std::end(kFaultEndpoints), spec.endpoint) ==
          std::end(kFaultEndpoints)) {
    std::string names;
    for (auto e : kFaultEndpoints) names += std::string(e) + ", ";
    throw std::invalid_argument("fault: unknown endpoint '" + spec.endpoint + "' (" + names +
                                "writes or *)");
  }
  if (spec.kind == FaultKind::None && spec.status != 0) spec.kind = FaultKind::Status;
  if (spec.kind == FaultKind::Status && (spec.status < 400 || spec.status > 599)) {
    throw std::invalid_argument("fault: status must be 400..599");
  }
  if (spec.kind != FaultKind::Status) spec.status = 0;
  if (spec.kind == FaultKind::None && spec.latency_ms <= 0) {
    throw std::invalid_argument("fault: no effect given (status=, latency_ms= or a kind)");
  }
  if (spec.latency_ms < 0 || spec.retry_after_s < 0 || spec.after < 0 || spec.count < -1) {
    throw std::invalid_argument("fault: latency_ms, retry_after and after must be >= 0, count >= -1");
  }
}

void set_key(FaultSpec& spec, std::string_view key, std::string_view value) {
  if (key == "status") {
    spec.status = parse_int(key, value);
    spec.kind = FaultKind::Status;
  } else if (key == "latency_ms" || key == "latency") {
    spec.latency_ms = parse_int(key, value);
  } else if (key == "retry_after") {
    spec.retry_after_s = parse_int(key, value);
  } else if (key == "count") {
    spec.count = parse_int(key, value);
  } else if (key == "after") {
    spec.after = parse_int(key, value);
  } else if (key == "type") {
    if (!kind_from_name(value, &spec.kind)) {
      throw std::invalid_argument("fault: unknown type '" + std::string(value) + "'");
    }
  } else {
    throw std::invalid_argument("fault: unknown key '" + std::string(key) + "'");
  }
}

FaultSpec from_json_object(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("fault: JSON fault must be an object");
  FaultSpec spec;
  for (const auto& [key, value] : j.items()) {
    if (key == "endpoint") {
      if (!value.is_string()) throw std::invalid_argument("fault: endpoint must be a string");
      spec.endpoint = value.get<std::string>();
    } else if (key == "type") {
      if (!value.is_string()) throw std::invalid_argument("fault: type must be a string");
      set_key(spec, key, value.get<std::string>());
    } else {
      if (!value.is_number_integer()) {
        throw std::invalid_argument("fault: " + key + " must be an integer");
      }
      set_key(spec, key, std::to_string(value.get<long long>()));
    }
  }
  validate(spec);
  return spec;
}

}  // namespace

bool is_hostile(FaultKind kind) {
  return kind == FaultKind::DuplicateKey || kind == FaultKind::Oversized ||
         kind == FaultKind::ControlChars || kind == FaultKind::InvalidUtf8 ||
         kind == FaultKind::HugeNumber;
}

void apply_hostile(FaultKind kind, std::string& body) {
  auto page = nlohmann::json::parse(body, nullptr, false);
  nlohmann::json* target = page.is_discarded() ? nullptr : named_object(page);
  if (target == nullptr) return;
  const auto name_it = target->find("name");
  const std::string name =
      name_it != target->end() && name_it->is_string() ? name_it->get<std::string>() : "x";
  if (kind == FaultKind::Oversized) {
    (*target)["name"] = std::string(10u << 20, 'n');
  } else if (kind == FaultKind::ControlChars) {
    (*target)["name"] = name + std::string("\0\x1b[2J\r\n2026-01-01 forged line", 29);
  } else {
    (*target)["name"] = kMarker;
  }
  body = page.dump();
  // What a DOM cannot hold goes in as text, in place of the marker.
  const std::string marked = std::string("\"name\":\"") + kMarker + "\"";
  const auto at = body.find(marked);
  if (at == std::string::npos) return;
  const std::string quoted = nlohmann::json(name).dump();
  std::string replacement;
  if (kind == FaultKind::DuplicateKey) {
    replacement = "\"name\":" + quoted + ",\"name\":\"" + "renamed-by-a-duplicate-key\"";
  } else if (kind == FaultKind::InvalidUtf8) {
    replacement = "\"name\":" + quoted.substr(0, quoted.size() - 1) + "\xff\xfe\"";
  } else {
    replacement = "\"name\":" + quoted + ",\"pcsimHugeNumber\":1e999";
  }
  body.replace(at, marked.size(), replacement);
}

std::string_view to_string(FaultKind kind) {
  for (const auto& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "latency";
}

FaultSpec parse_fault(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (!text.empty() && text.front() == '{') {
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded()) throw std::invalid_argument("fault: invalid JSON");
    return from_json_object(doc);
  }
  FaultSpec spec;
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw std::invalid_argument("fault: expected ENDPOINT:EFFECT, got '" + std::string(text) + "'");
  }
  spec.endpoint = std::string(text.substr(0, colon));
  std::string_view rest = text.substr(colon + 1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view token = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (token.empty()) continue;
    auto eq = token.find('=');
    if (eq == std::string_view::npos) {
      if (!kind_from_name(token, &spec.kind)) {
        throw std::invalid_argument("fault: unknown effect '" + std::string(token) + "'");
      }
    } else {
      set_key(spec, token.substr(0, eq), token.substr(eq + 1));
    }
  }
  validate(spec);
  return spec;
}

std::vector<FaultSpec> parse_faults_json(const nlohmann::json& doc) {
  std::vector<FaultSpec> out;
  if (doc.is_array()) {
    for (const auto& item : doc) {
      if (item.is_string()) {
        out.push_back(parse_fault(item.get<std::string>()));
      } else {
        out.push_back(from_json_object(item));
      }
    }
  } else if (doc.is_string()) {
    out.push_back(parse_fault(doc.get<std::string>()));
  } else {
    out.push_back(from_json_object(doc));
  }
  return out;
}

nlohmann::json to_json(const FaultSpec& spec) {
  nlohmann::json j = {{"endpoint", spec.endpoint},
                      {"type", std::string(to_string(spec.kind))},
                      {"latency_ms", spec.latency_ms},
                      {"count", spec.count},
                      {"after", spec.after}};
  if (spec.kind == FaultKind::Status) j["status"] = spec.status;
  if (spec.kind == FaultKind::Status && spec.status == 429) j["retry_after"] = spec.retry_after_s;
  return j;
}

}  // namespace flowdrift::pcsim
