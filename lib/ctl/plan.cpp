#include "ctl/plan.hpp"

#include <filesystem>
#include <optional>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "ctl/commands.hpp"
#include "ctl/live.hpp"
#include "ctl/site_file.hpp"
#include "drift/rules.hpp"
#include "plan/plan.hpp"
#include "policy/baseline.hpp"
#include "store/db.hpp"
#include "store/flips.hpp"

namespace flowdrift::ctl {
namespace {

using nlohmann::json;

// The source and target of a plan, and the rules it is planned under.
struct Inputs {
  std::string source_name;
  policy::Snapshot source;
  std::optional<plan::Target> target;
  drift::PairRules rules;
};

bool failed(std::ostream& err, const std::string& what) {
  err << "flowdriftctl plan: " << what << "\n";
  return false;
}

std::optional<config::Config> load(const std::string& path, std::ostream& err) {
  try {
    return drift::load_config(path);
  } catch (const config::ConfigError& e) {
    err << "flowdriftctl: invalid configuration:\n" << e.what() << "\n";
    return std::nullopt;
  }
}

}  // namespace

plan::Target target_of(LoadedDump dump, const std::string& name) {
  if (!dump.v4) return plan::v3_target(name, *dump.v3, std::move(dump.site.snapshot));
  const auto versions = dump.site.api_versions;
  plan::Target t = plan::v4_target(name, *dump.v4, std::move(dump.site.snapshot));
  if (!versions.microseg.empty()) t.microseg_version = versions.microseg;
  if (!versions.prism.empty()) t.prism_version = versions.prism;
  return t;
}

namespace {

// A live site of the configuration, polled now, completely.
std::optional<LoadedDump> poll_site(const std::string& config, const std::string& site,
                                    std::ostream& err) {
  auto live = fetch_live_dump(config, site, err);
  if (!live) return std::nullopt;
  auto dump = parse_dump(live->doc, "site " + site);
  if (!dump) {
    err << "flowdriftctl: " << dump.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*dump);
}

}  // namespace

std::optional<plan::Target> poll_target(const std::string& config, const std::string& site,
                                        std::ostream& err) {
  auto dump = poll_site(config, site, err);
  if (!dump) return std::nullopt;
  return target_of(std::move(*dump), site);
}

namespace {

bool read_source(const PlanArgs& args, const config::Config* cfg, const config::PairConfig* pair,
                 Inputs& in, std::ostream& err) {
  if (!args.source_file.empty()) {
    auto site = load_site_file(args.source_file);
    if (!site) return failed(err, site.error().message);
    in.source_name = args.source_file;
    in.source = std::move(site->snapshot);
    return true;
  }
  const auto* site = cfg->find_site(pair->source);
  in.source_name = pair->source;
  if (config::is_baseline(*site)) {
    auto baseline = policy::load_baseline(site->baseline);
    if (!baseline) return failed(err, baseline.error().message);
    in.source = std::move(baseline->snapshot);
    return true;
  }
  auto dump = poll_site(args.config, pair->source, err);
  if (!dump) return false;
  in.source = std::move(dump->site.snapshot);
  return true;
}

bool read_target(const PlanArgs& args, const config::PairConfig* pair, Inputs& in,
                 std::ostream& err) {
  if (!args.to_file.empty()) {
    auto doc = policy::read_document(args.to_file);
    if (!doc) return failed(err, doc.error().message);
    auto dump = parse_dump(*doc, args.to_file);
    if (!dump) return failed(err, dump.error().message);
    in.target = target_of(std::move(*dump), args.to_file);
    return true;
  }
  in.target = poll_target(args.config, args.to_site.empty() ? pair->replica : args.to_site, err);
  return in.target.has_value();
}

bool check_args(const PlanArgs& a, std::ostream& err) {
  if (a.source_file.empty() && a.pair.empty()) return failed(err, "give --pair P, or a SOURCE file");
  if (!a.to_site.empty() && !a.to_file.empty()) return failed(err, "give --to or --to-file, not both");
  if (a.pair.empty() && a.to_site.empty() && a.to_file.empty()) {
    return failed(err, "a SOURCE file needs a target: --to SITE or --to-file DUMP");
  }
  if (a.config.empty() && (!a.pair.empty() || !a.to_site.empty())) {
    return failed(err, "--pair and --to need --config");
  }
  return true;
}

// Whether the daemon's database says the pair is failed over (no database: it is not).
// Throws StoreError when the database cannot be read.
bool failed_over(const config::Config& cfg, const config::PairConfig& pair) {
  if (!std::filesystem::exists(cfg.storage.path)) return false;
  store::Database db(cfg.storage.path, store::Database::Mode::ReadOnly);
  db.set_busy_timeout(5000);
  return store::failed_over(db, pair);
}

// Why the pair must not be planned with --pair now, or "".
std::string pair_refusal(const config::Config& cfg, const config::PairConfig& pair) {
  try {
    if (!failed_over(cfg, pair)) return "";
  } catch (const store::StoreError& e) {
    return cfg.storage.path + ": " + e.what() + " (is the pair failed over? it cannot be told)";
  }
  // The configured replica serves now: a plan --pair would write to the live site.
  return "pair " + pair.name + " is failed over (" + pair.replica +
         " is its source, docs/failover.md): --pair would plan writes to " + pair.replica +
         ". Plan from a dump of " + pair.replica + " --to " + pair.source +
         " (docs/playbook.md \"Failback\"), or fail back first";
}

bool gather(const PlanArgs& args, Inputs& in, std::ostream& err) {
  if (!check_args(args, err)) return false;
  std::optional<config::Config> cfg;
  const config::PairConfig* pair = nullptr;
  if (!args.config.empty()) {
    cfg = load(args.config, err);
    if (!cfg) return false;
  }
  if (!args.pair.empty()) {
    for (const auto& p : cfg->pairs) {
      if (p.name == args.pair) pair = &p;
    }
    if (!pair) return failed(err, "no pair named '" + args.pair + "' in " + args.config);
    if (auto why = pair_refusal(*cfg, *pair); !why.empty()) return failed(err, why);
    in.rules = drift::make_rules(*pair);
  }
  if (!args.to_site.empty()) {
    const auto* site = cfg->find_site(args.to_site);
    if (!site) return failed(err, "no site named '" + args.to_site + "' in " + args.config);
    if (config::is_baseline(*site)) return failed(err, args.to_site + " is a baseline, not a site to write to");
  }
  return read_source(args, cfg ? &*cfg : nullptr, pair, in, err) &&
         read_target(args, pair, in, err);
}

}  // namespace

std::optional<plan::Plan> compute_plan(const PlanArgs& args, std::ostream& err) {
  Inputs in;
  if (!gather(args, in, err)) return std::nullopt;
  plan::PlanInput input;
  input.source = &in.source;
  input.target = &*in.target;
  input.mapping = in.rules.mapping;
  input.expected = in.rules.expected;
  input.now_ms = args.now_ms != 0 ? args.now_ms : unix_now_ms();
  plan::Plan p = plan::make_plan(input);
  p.pair = args.pair;
  p.source = in.source_name;
  return p;
}

int run_plan(const PlanArgs& args, std::ostream& out, std::ostream& err) {
  auto computed = compute_plan(args, err);
  if (!computed) return kExitError;
  const plan::Plan& p = *computed;
  const json doc = plan::plan_json(p);
  if (!args.output.empty() && !write_text_file(args.output, doc.dump(2) + "\n", err)) {
    return kExitError;
  }
  if (args.format == "json") {
    out << doc.dump(2) << "\n";
  } else {
    out << plan::plan_text(p);
    if (!args.output.empty()) out << "\nSaved to " << args.output << ": apply it with flowdriftctl apply " << args.output << " --yes\n";
  }
  if (!p.blocked.empty()) {
    err << "flowdriftctl plan: " << p.blocked.size()
        << " write(s) cannot be made; the plan cannot be applied as it is\n";
    return kExitError;
  }
  return p.writes.empty() ? kExitInSync : kExitDrift;
}

}  // namespace flowdrift::ctl
