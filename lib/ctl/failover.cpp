// flowdriftctl failover and failback (docs/failover.md): a flip recorded in the daemon's
// database, applied by flowdriftd within a second.
#include <chrono>
#include <filesystem>
#include <thread>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/printable.hpp"
#include "core/time_format.hpp"
#include "ctl/commands.hpp"
#include "ctl/output.hpp"
#include "report/documents.hpp"
#include "store/flips.hpp"
#include "store/store.hpp"

namespace flowdrift::ctl {
namespace {

// The flip as stored now, or nullopt once it is gone (it never is: flips are not pruned).
std::optional<store::FlipRecord> read_back(store::Database& db, const store::FlipRecord& f) {
  for (auto& r : store::flips(db, f.pair, 10)) {
    if (r.id == f.id) return r;
  }
  return std::nullopt;
}

store::FlipRecord wait_for_daemon(store::Database& db, store::FlipRecord f, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (f.outcome == "pending" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (auto now = read_back(db, f)) f = std::move(*now);
  }
  return f;
}

void report(const store::FlipRecord& f, std::ostream& out) {
  out << "flip " << f.id << " (" << f.action << ") of pair " << f.pair << ": source "
      << f.source_site << ", replica " << f.replica_site << "; by " << f.requested_by
      << ", reason: " << printable(f.reason, 200) << "\n";
  if (f.outcome == "pending") {
    out << "recorded; flowdriftd has not applied it yet (is it running?). It applies it within a "
           "second of its next start; flowdriftctl status shows the pair's direction.\n";
  } else {
    out << f.outcome << " by flowdriftd at " << format_time(f.applied_ms.value_or(0)) << ": "
        << f.message << " (" << f.items << " open drift item(s) re-described)\n";
  }
}

}  // namespace

int run_flip(const FlipArgs& args, std::ostream& out, std::ostream& err) {
  const std::string cmd = "flowdriftctl " + args.action;
  auto cfg = load_config_or_report(args.config, err);
  if (!cfg) return kExitError;
  const auto* pair = find_pair(*cfg, args.pair, args.config, err);
  if (!pair) return kExitError;
  if (!std::filesystem::exists(cfg->storage.path)) {
    err << cmd << ": " << cfg->storage.path << ": no database (has flowdriftd run yet?)\n";
    return kExitError;
  }
  try {
    store::Store st(cfg->storage.path);
    st.db().set_busy_timeout(5000);
    auto checked = store::check_flip(st.db(), *pair,
                                     {args.action, args.reason, os_user(), "cli", unix_now_ms()});
    if (auto* refused = std::get_if<store::FlipRefused>(&checked)) {
      err << cmd << ": refused: " << refused->message << "\n";
      return kExitError;
    }
    auto flip = std::get<store::FlipRecord>(std::move(checked));
    flip.id = store::request_flip(st.db(), flip);
    flip = wait_for_daemon(st.db(), std::move(flip), args.wait_seconds);
    print_document(out, report::flip_document(flip), args.format,
                   [&flip](const nlohmann::json&, std::ostream& o) { report(flip, o); });
    return flip.outcome == "refused" ? kExitError : kExitInSync;
  } catch (const std::exception& e) {
    err << cmd << ": " << cfg->storage.path << ": " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flowdrift::ctl
