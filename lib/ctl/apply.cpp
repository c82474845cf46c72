// flowdriftctl apply: a saved plan performed as `terraform apply` would, with the checks of
// docs/plan.md "Apply" before the first write and an audit row for every request.
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/json_get.hpp"
#include "ctl/commands.hpp"
#include "ctl/live.hpp"
#include "ctl/plan.hpp"
#include "ctl/site_file.hpp"
#include "drift/rules.hpp"
#include "http/asio.hpp"
#include "http/client.hpp"
#include "policy/baseline.hpp"
#include "scheduler/collector.hpp"
#include "store/applies.hpp"
#include "store/store.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;
constexpr std::size_t kMaxAuditedBody = 64 * 1024;

std::string bounded(std::string s) {
  if (s.size() > kMaxAuditedBody) s.resize(kMaxAuditedBody);
  return s;
}

// Why a plan must not be applied as it is, or "".
std::string refusal(const plan::Plan& p, const ApplyArgs& args) {
  if (!p.blocked.empty()) {
    return "the plan has " + std::to_string(p.blocked.size()) + " blocked write(s); plan again once they are resolved";
  }
  if (!args.yes) return "apply writes to " + p.target + "; review the plan, then pass --yes";
  for (const auto& w : p.writes) {
    if (w.op == plan::Op::Delete && !args.allow_delete) {
      return "the plan deletes " + std::string(policy::to_string(w.kind)) + " '" + w.name +
             "'; pass --allow-delete to allow deletes";
    }
  }
  return {};
}

// Everything one apply works with; its coroutine performs the writes in order.
struct Run {
  plan::Plan plan;
  config::SiteConfig site;
  std::string authorization;
  std::string base_path;
  plan::Target target;  // the fresh poll's identifiers, completed by what the apply creates
  std::unique_ptr<http::HttpTransport> transport;
  store::Database* db = nullptr;
  std::int64_t apply_id = 0;
  int done = 0;
  std::string stopped;  // why the apply stopped, "" when every write was made
};

http::HttpRequest http_request(const Run& run, const plan::Request& r) {
  http::HttpRequest h;
  h.method = r.method;
  h.target = run.base_path + r.path;
  h.headers = {{"Authorization", run.authorization}, {"Accept", "application/json"}};
  if (!r.body.is_null()) {
    h.headers.push_back({"Content-Type", "application/json"});
    h.body = r.body.dump();
  }
  return h;
}

// What a create made, as the target now names it.
void remember_created(Run& run, const plan::Write& w, const std::string& id) {
  if (w.kind == policy::ObjectKind::Category && w.name.find(':') == std::string::npos) {
    run.target.category_keys.insert(w.name);
    return;
  }
  run.target.objects[{w.kind, w.name}] = plan::TargetObject{id, 0};
}

// The id a v3 create answers with (`uuid`, or `metadata.uuid` of an intent response).
std::string v3_created_id(const json& answer) {
  std::string id = string_or(answer, "uuid");
  return id.empty() ? string_at_path(answer, {"metadata", "uuid"}) : id;
}

// One GET with the write credential; the answer's body as JSON when 2xx.
awaitable<Result<json>> read_json(Run* run, std::string target, std::string* etag) {
  http::HttpRequest h;
  h.method = "GET";
  h.target = target;
  h.headers = {{"Authorization", run->authorization}, {"Accept", "application/json"}};
  auto answer = co_await run->transport->send(h, run->site.request_timeout);
  if (!answer) co_return answer.error();
  if (answer->status / 100 != 2) {
    co_return make_error(ErrorReason::Other, "GET " + target + ": " + std::to_string(answer->status) +
                                                 " " + bounded(answer->body).substr(0, 300));
  }
  if (etag) *etag = std::string(answer->header("ETag").value_or(""));
  json body = json::parse(answer->body, nullptr, false);
  if (body.is_discarded()) co_return make_error(ErrorReason::Malformed, "GET " + target + ": not JSON");
  co_return body;
}

// v4: a write answered with a task reference is done when its task has succeeded; the extId
// of the entity it affected.
awaitable<Result<std::string>> wait_task(Run* run, std::string task_id) {
  const std::string target = run->base_path + "/api/prism/" + run->target.prism_version +
                             "/config/tasks/" + task_id;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(120);
  while (SteadyClock::now() < deadline) {
    auto task = co_await read_json(run, target, nullptr);
    if (!task) co_return task.error();
    const json& data = member_object(*task, "data");
    const std::string status = string_or(data, "status");
    if (status == "SUCCEEDED") {
      for (const auto& e : data.value("entitiesAffected", json::array())) {
        if (!string_or(e, "extId").empty()) co_return string_or(e, "extId");
      }
      co_return std::string();
    }
    if (status == "FAILED" || status == "CANCELED" || status == "CANCELLED") {
      co_return make_error(ErrorReason::Other, "task " + task_id + " " + status + ": " +
                                                   data.value("errorMessages", json::array()).dump());
    }
    timer.expires_after(std::chrono::milliseconds(250));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return make_error(ErrorReason::Timeout, "task " + task_id + " did not finish within 120 s");
}

// What a 2xx answer means once the write is done: the created object's id (v3: in the answer;
// v4: its task's affected entity, or the created object itself for a category).
awaitable<Result<std::string>> settle_write(Run* run, std::string body) {
  const json answer = json::parse(body, nullptr, false);
  if (run->target.api != config::Api::V4) co_return v3_created_id(answer);
  const json& data = member_object(answer, "data");
  if (string_or(data, "$objectType") == "prism.v4.config.TaskReference") {
    co_return co_await wait_task(run, string_or(data, "extId"));
  }
  co_return string_or(data, "extId");
}

void stop_at(Run* run, std::size_t i, const plan::Write& w, const std::string& why) {
  run->stopped = "step " + std::to_string(i + 1) + " (" + std::string(plan::to_string(w.op)) + " " +
                 std::string(policy::to_string(w.kind)) + " '" + w.name + "') " + why;
}

awaitable<bool> perform_write(Run* run, std::size_t i) {
  const plan::Write& w = run->plan.writes[i];
  auto request = plan::render_now(w, run->target);
  if (!request) {
    stop_at(run, i, w, "cannot be rendered: " + request.error().message);
    co_return false;
  }
  http::HttpRequest h = http_request(*run, *request);
  const bool conditional = run->target.api == config::Api::V4 && request->method != "POST";
  if (conditional) {  // v4: If-Match with the ETag the object has now
    std::string etag;
    auto current = co_await read_json(run, h.target, &etag);
    if (!current || etag.empty()) {
      stop_at(run, i, w, "could not read its ETag: " + (current ? "no ETag header" : current.error().message));
      co_return false;
    }
    h.headers.push_back({"If-Match", etag});
  }
  store::AppliedRequest audit{static_cast<int>(i + 1), std::string(plan::to_string(w.op)),
                              std::string(policy::to_string(w.kind)), w.name, h.method,
                              request->path, h.body, 0, "", unix_now_ms(), 0};
  const auto t0 = SteadyClock::now();
  auto answer = co_await run->transport->send(h, run->site.request_timeout);
  audit.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0).count();
  audit.status = answer ? answer->status : 0;
  audit.response_body = answer ? bounded(answer->body) : answer.error().message;
  store::record_apply_request(*run->db, run->apply_id, audit);
  if (!answer || answer->status / 100 != 2) {
    stop_at(run, i, w, "was refused: " + (answer ? std::to_string(answer->status) + " " +
                                                       audit.response_body.substr(0, 300)
                                                 : answer.error().message));
    co_return false;
  }
  auto settled = co_await settle_write(run, answer->body);
  if (!settled) {
    stop_at(run, i, w, "did not complete: " + settled.error().message);
    co_return false;
  }
  if (w.op == plan::Op::Create) remember_created(*run, w, *settled);
  ++run->done;
  co_return true;
}

awaitable<void> perform_writes(Run* run) {
  for (std::size_t i = 0; i < run->plan.writes.size(); ++i) {
    if (!co_await perform_write(run, i)) co_return;
  }
}

std::optional<plan::Plan> read_plan(const std::string& path, std::ostream& err) {
  auto doc = policy::read_document(path);
  if (!doc) {
    err << "flowdriftctl apply: " << doc.error().message << "\n";
    return std::nullopt;
  }
  auto p = plan::plan_from_json(*doc, path);
  if (!p) {
    err << "flowdriftctl apply: " << p.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*p);
}

void report(const Run& run, std::ostream& out) {
  const auto& writes = run.plan.writes;
  out << "Apply to " << run.plan.target << ": " << run.done << " of " << writes.size()
      << " write(s) made\n";
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const auto& w = writes[i];
    const char* state = static_cast<int>(i) < run.done ? "done" : static_cast<int>(i) == run.done && !run.stopped.empty() ? "REFUSED" : "not done";
    out << "  " << (i + 1) << ". " << plan::to_string(w.op) << " " << policy::to_string(w.kind)
        << " \"" << w.name << "\": " << state << "\n";
  }
  if (!run.stopped.empty()) out << "Stopped: " << run.stopped << "\n";
}

// After the writes: the target's snapshot now and, for a pair, its status as a new plan sees
// it (that plan polls the target itself: one poll, not two).
std::optional<std::string> settle(const ApplyArgs& args, const plan::Plan& p, std::ostream& out,
                                  std::ostream& err) {
  std::string hash;
  std::optional<plan::Plan> next;
  if (!p.pair.empty()) {
    PlanArgs again;
    again.config = args.config;
    again.pair = p.pair;
    next = compute_plan(again, err);
    if (next) hash = next->target_hash;
  }
  if (!next) {  // no pair, or its source could not be read: the target alone
    auto after = poll_target(args.config, p.target, err);
    if (!after) return std::nullopt;
    hash = after->snapshot.hash;
  }
  out << "Target " << p.target << " now at snapshot " << hash.substr(0, 12) << "\n";
  if (next) {
    out << "Pair " << p.pair << ": " << diff::to_string(next->status) << ", " << next->drift_items
        << " drift item(s); a new plan has " << next->writes.size() << " write(s)\n";
  }
  return hash;
}

struct Opened {
  config::Config config;
  const config::SiteConfig* site = nullptr;
  std::string write_password;
  std::unique_ptr<store::Store> store;
};

bool open_all(const ApplyArgs& args, const plan::Plan& p, Opened& o, std::ostream& err) {
  try {
    o.config = drift::load_config(args.config);
    o.site = o.config.find_site(p.target);
    if (!o.site) {
      err << "flowdriftctl apply: the plan's target '" << p.target << "' is not a site of " << args.config << "\n";
      return false;
    }
    o.write_password = config::read_write_password(*o.site);
    o.store = std::make_unique<store::Store>(o.config.storage.path);
  } catch (const std::exception& e) {
    err << "flowdriftctl apply: " << e.what() << "\n";
    return false;
  }
  return true;
}

int perform(const ApplyArgs& args, plan::Plan p, Opened& o, plan::Target target,
            std::int64_t apply_id, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  Run run;
  run.plan = std::move(p);
  run.site = *o.site;
  const std::string user = o.site->credentials.write_username.empty()
                               ? o.site->credentials.username
                               : o.site->credentials.write_username;
  run.authorization = http::basic_auth_header(user, o.write_password);
  if (auto url = http::parse_url(o.site->url)) run.base_path = url->base_path;
  run.target = std::move(target);
  run.transport = scheduler::make_site_transport(io.get_executor(), *o.site);
  run.db = &o.store->db();
  run.apply_id = apply_id;
  asio::co_spawn(io, perform_writes(&run), [&run](std::exception_ptr e) {
    if (e && run.stopped.empty()) run.stopped = "internal error during the writes";
  });
  io.run();
  report(run, out);
  const auto after = settle(args, run.plan, out, err);
  const bool complete = run.stopped.empty();
  store::finish_apply(*run.db, apply_id, complete ? "complete" : "stopped", run.stopped, run.done,
                      after, unix_now_ms());
  return complete ? kExitInSync : kExitDrift;
}

}  // namespace

std::string os_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  std::string user = pw ? pw->pw_name : "uid " + std::to_string(::geteuid());
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) user += " (sudo from " + std::string(sudo) + ")";
  return user;
}

int run_apply(const ApplyArgs& args, std::ostream& out, std::ostream& err) {
  auto p = read_plan(args.plan_file, err);
  if (!p) return kExitError;
  if (auto why = refusal(*p, args); !why.empty()) {
    err << "flowdriftctl apply: refused: " << why << "\n";
    return kExitError;
  }
  Opened o;
  if (!open_all(args, *p, o, err)) return kExitError;
  store::ApplyRecord record;
  record.started_ms = unix_now_ms();
  record.os_user = os_user();
  record.plan_hash = plan::plan_hash(*p);
  record.pair = p->pair;
  record.target_site = p->target;
  record.target_snapshot = p->target_hash;
  record.writes_planned = static_cast<int>(p->writes.size());
  const auto apply_id = store::begin_apply(o.store->db(), record);
  auto target = poll_target(args.config, p->target, err);
  std::string why;
  if (!target) {
    why = "the target could not be polled completely";
  } else if (target->snapshot.hash != p->target_hash) {
    why = p->target + " changed since the plan (now snapshot " + target->snapshot.hash.substr(0, 12) +
          ", planned against " + p->target_hash.substr(0, 12) + "); nothing was written: plan again";
  }
  if (!why.empty()) {
    store::finish_apply(o.store->db(), apply_id, "refused", why, 0, std::nullopt, unix_now_ms());
    err << "flowdriftctl apply: refused: " << why << "\n";
    return kExitError;
  }
  return perform(args, std::move(*p), o, std::move(*target), apply_id, out, err);
}

}  // namespace flowdrift::ctl
