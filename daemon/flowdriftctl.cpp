// flowdriftctl: the operator's CLI over flowdrift's libraries (docs/cli.md).
//   diff SOURCE REPLICA [-o text|json|yaml]    compare two site files (exit 0 in sync, 1 drift, 2 error)
//        [--source-categories F ...]           the lists a v4 policies file references (docs/cli.md)
//        [--config FILE --pair P]              apply the pair's mappings and expected differences
//   dump --config FILE --site NAME [--out FILE] fetch one live site (v3 or v4), every reference included
//   export (--config FILE --site NAME | --from FILE) [--out FILE|DIR/] [--format json|yaml]
//                                               a site as a baseline to keep in git
//   plan (--config FILE --pair P | SOURCE (--to SITE --config FILE | --to-file DUMP))
//        [--format text|json] [--out PLAN-FILE] the writes that would make the target match
//                                               (exit 0 nothing to do, 1 writes, 2 error)
//   apply PLAN-FILE --config FILE --yes [--allow-delete]
//                                               perform a saved plan with the target's write
//                                               credential (exit 0 done, 1 stopped, 2 refused)
//   status --config FILE | --db FILE | --server URL
//                                               pair and site states from the daemon's database,
//                                               or from the daemon itself (--ca-file, --auth-file)
//   drift [--pair P] [--open | --since T]       drift items from the audit trail (status, drift,
//                                               history and explain also take --server URL)
//   history [--site S] [--policy P]             every version of each policy, first/last seen
//                                               (status, drift, history, verify, explain, diff:
//                                               -o text|json|yaml)
//   verify --config FILE | --db FILE            the audit trail's hash chain (exit 0 intact, 1 broken)
//   failover|failback --config FILE --pair P --reason TEXT
//                                               flip which site is the pair's source (audited;
//                                               applied by flowdriftd within a second)
//   readiness --config FILE --pair P [--format md|html|json] [--out FILE]
//                                               what failing over now would do (exit 0 ready,
//                                               1 not ready, 2 error); the compliance report
//   explain PAIR POLICY [--config C] [--db D] [--server URL]
//                                               one policy of a pair: items, fields, flows,
//                                               references, mappings, expectations, history
#include <CLI/CLI.hpp>

#include <iostream>
#include <unistd.h>
#include <string>
#include <utility>
#include <vector>

#include "core/build_info.hpp"
#include "core/printable.hpp"
#include "ctl/commands.hpp"
#include "ctl/plan.hpp"
#include "ctl/readiness.hpp"

namespace {

// The output format, as kubectl spells it: -o/--output, with --format its older name.
void add_output_format(CLI::App* sub, std::string& format) {
  sub->add_option("-o,--output,--format", format, "output format: text, json or yaml")
      ->check(CLI::IsMember({"text", "json", "yaml"}))
      ->capture_default_str();
}

// --server URL (with --ca-file and --auth-file): read the document from a running flowdriftd
// instead of its database file; the options in `local` are then refused.
void add_server(CLI::App* sub, flowdrift::ctl::ServerArgs& server,
                const std::vector<CLI::Option*>& local) {
  auto* url = sub->add_option("--server", server.url,
                              "read it from this flowdriftd instead (http(s)://HOST:PORT), "
                              "without the database file");
  for (auto* option : local) url->excludes(option);
  sub->add_option("--ca-file", server.ca_file,
                  "trust this CA (PEM) for --server instead of the system's")
      ->needs(url);
  sub->add_option("--auth-file", server.auth_file,
                  "basic auth for --server: a file with one line user:password")
      ->needs(url);
}

// Options kept under an old name for one more release: used, they say so on stderr.
struct Deprecated {
  CLI::Option* option;
  const char* instead;
};

// The output file: --out FILE. -o/--output FILE is its old spelling (removed in 0.3.0).
void add_out_file(CLI::App* sub, std::string& file, const std::string& what,
                  std::vector<Deprecated>& deprecated) {
  sub->add_option("--out", file, what);
  auto* old = sub->add_option("-o,--output", file, "deprecated spelling of --out")->group("");
  deprecated.push_back({old, "--out"});
}

// -q and -v of a long fetch (ctl/live.hpp Progress); progress shows on a terminal by default.
void add_progress(CLI::App* sub, flowdrift::ctl::Progress& progress) {
  progress.terminal = ::isatty(STDERR_FILENO) == 1;
  auto* quiet = sub->add_flag("-q,--quiet", progress.quiet,
                              "no progress and no summary on standard error");
  sub->add_flag("-v,--verbose", progress.verbose,
                "progress on standard error, one line per step, even when it is not a terminal")
      ->excludes(quiet);
}

void warn_deprecated(const std::vector<Deprecated>& deprecated) {
  for (const auto& d : deprecated) {
    if (d.option->count() > 0) {
      std::cerr << "flowdriftctl: -o/--output FILE is deprecated and goes in 0.3.0: use "
                << d.instead << " FILE\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // Reports go through std::cout only (nothing here writes to stdout through stdio): its own
  // buffer, not an fwrite() per insertion (a 16 MB diff report wrote 35 ms faster).
  std::ios::sync_with_stdio(false);
  CLI::App cli{"flowdriftctl: inspect Nutanix Flow policy drift"};
  cli.require_subcommand(1);
  cli.footer("Documentation: man flowdriftctl, and /usr/share/doc/flowdrift/cli.md. "
             "flowdriftctl COMMAND --help lists a command's options.");
  cli.set_version_flag("--version", "flowdriftctl " + flowdrift::version_line());

  flowdrift::ctl::DiffArgs diff_args;
  auto* diff = cli.add_subcommand("diff", "compare two site files (v3 or v4 list responses, or dumps)");
  diff->add_option("source", diff_args.source, "the source of truth (primary)")->required();
  diff->add_option("replica", diff_args.replica, "the replica (DR)")->required();
  std::vector<Deprecated> deprecated;
  add_output_format(diff, diff_args.format);
  // A policies list names groups (v3 and v4) and categories (v4) by id only: their lists come
  // alongside, from the same API as the policies file.
  for (auto [side, refs] : {std::pair{"source", &diff_args.source_refs},
                            std::pair{"replica", &diff_args.replica_refs}}) {
    const std::string s(side);
    diff->add_option("--" + s + "-categories", refs->categories,
                     "v4 categories list response (GET /api/prism/v4.0/config/categories) "
                     "for a v4 " + s + " policies file");
    diff->add_option("--" + s + "-address-groups", refs->address_groups,
                     "address-groups list response (v4, or v3 address_groups/list) for the " + s +
                         " policies file");
    diff->add_option("--" + s + "-service-groups", refs->service_groups,
                     "service-groups list response (v4, or v3 service_groups/list) for the " + s +
                         " policies file");
  }

  auto* diff_config = diff->add_option("-c,--config", diff_args.config,
                                       "flowdriftd configuration holding --pair");
  auto* diff_pair = diff->add_option("--pair", diff_args.pair,
                                     "apply this pair's mappings and expected differences");
  diff_config->needs(diff_pair);
  diff_pair->needs(diff_config);

  flowdrift::ctl::DumpArgs dump_args;
  auto* dump = cli.add_subcommand("dump", "fetch one live site into a site dump file");
  dump->add_option("-c,--config", dump_args.config, "flowdriftd configuration")->required();
  dump->add_option("-s,--site", dump_args.site, "site name from the configuration")->required();
  add_out_file(dump, dump_args.output, "output file (default: standard output)", deprecated);
  add_progress(dump, dump_args.progress);

  flowdrift::ctl::ExportArgs export_args;
  export_args.version = flowdrift::build_info().version;
  auto* exp = cli.add_subcommand("export", "write a site's policies and what they use as a baseline to keep in git");
  auto* exp_config = exp->add_option("-c,--config", export_args.config, "flowdriftd configuration");
  auto* exp_site = exp->add_option("-s,--site", export_args.site, "export this live site from the configuration");
  auto* exp_from = exp->add_option("--from", export_args.from,
                                   "or export this site file, dump or baseline, offline");
  add_out_file(exp, export_args.output,
               "output file, or directory (existing, or ending in /) for one file per object "
               "(default: standard output)",
               deprecated);
  add_progress(exp, export_args.progress);
  exp->add_option("--format", export_args.format, "json or yaml")
      ->check(CLI::IsMember({"json", "yaml"}))
      ->capture_default_str();
  exp_site->needs(exp_config);
  exp_config->needs(exp_site);
  exp_from->excludes(exp_site);
  exp_from->excludes(exp_config);

  flowdrift::ctl::PlanArgs plan_args;
  auto* plan = cli.add_subcommand(
      "plan", "the writes that would make a replica (or any site) hold what its source holds, "
              "each with the drift item it fixes");
  plan->add_option("source", plan_args.source_file,
                   "a site file, dump or baseline to plan from (default: the pair's source)");
  plan->add_option("-c,--config", plan_args.config, "flowdriftd configuration");
  plan->add_option("--pair", plan_args.pair,
                   "plan for this pair: its source and replica, mappings and expected differences");
  plan->add_option("--to", plan_args.to_site, "the target: a site of the configuration, polled now");
  plan->add_option("--to-file", plan_args.to_file,
                   "or a dump of the target (flowdriftctl dump), offline, for review");
  plan->add_option("--format", plan_args.format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  add_out_file(plan, plan_args.output, "save the plan (JSON) for flowdriftctl apply", deprecated);

  flowdrift::ctl::ApplyArgs apply_args;
  auto* apply = cli.add_subcommand(
      "apply", "perform a saved plan on its target, only while the target is unchanged since "
               "the plan; every request is audited");
  apply->add_option("plan", apply_args.plan_file, "plan file written by flowdriftctl plan -o")->required();
  apply->add_option("-c,--config", apply_args.config,
                    "flowdriftd configuration: the target site, its write credential, the database")
      ->required();
  apply->add_flag("--yes", apply_args.yes, "confirm: perform the plan's writes");
  apply->add_flag("--allow-delete", apply_args.allow_delete, "allow the plan's deletes");

  flowdrift::ctl::DbArgs db_args;
  auto add_db = [&](CLI::App* sub, bool remote) {
    auto* cfg = sub->add_option("-c,--config", db_args.config, "flowdriftd configuration (its storage.path)");
    auto* db = sub->add_option("--db,--database", db_args.db, "database file");
    cfg->excludes(db);
    add_output_format(sub, db_args.format);
    if (remote) add_server(sub, db_args.server, {cfg, db});
  };
  auto* status = cli.add_subcommand("status", "pair and site states from the daemon's database");
  add_db(status, true);
  status->add_flag("--exit-code", db_args.exit_code,
                   "exit 0 when every pair is IN_SYNC, 1 when any is DRIFTED, 2 when any is UNKNOWN "
                   "(or none was compared yet) or on error");
  auto* drift = cli.add_subcommand("drift", "drift items from the audit trail");
  add_db(drift, true);
  drift->add_option("--limit", db_args.limit, "at most this many items")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  drift->add_option("--pair", db_args.pair, "only this pair");
  auto* open = drift->add_flag("--open", db_args.open_only, "only items still open");
  auto* since = drift->add_option("--since", db_args.since,
                                  "items opened or resolved since T (unix seconds, "
                                  "2026-11-25T10:00:00Z, or an age like 24h)");
  open->excludes(since);
  auto* history = cli.add_subcommand("history", "every stored version of each policy, first and last seen");
  add_db(history, true);
  history->add_option("--site", db_args.site, "only this site");
  history->add_option("--policy", db_args.policy, "only this policy");
  history->add_flag("--applies", db_args.applies,
                    "the applies instead: who applied which plan to which target, and each request");

  auto* verify = cli.add_subcommand(
      "verify", "walk the tamper-evident audit trail: exit 0 intact, 1 broken (the first broken "
                "link named), 2 error");
  add_db(verify, false);

  flowdrift::ctl::FlipArgs flip_args;
  auto add_flip = [&](const char* name, const char* what) {
    auto* sub = cli.add_subcommand(name, what);
    sub->add_option("-c,--config", flip_args.config,
                    "flowdriftd configuration: the pair and the database")->required();
    sub->add_option("--pair", flip_args.pair, "pair name")->required();
    sub->add_option("--reason", flip_args.reason, "why, for the audit trail")->required();
    sub->add_option("--wait", flip_args.wait_seconds,
                    "seconds to wait for flowdriftd to apply it (0: do not wait)")
        ->check(CLI::Range(0, 600))
        ->capture_default_str();
    add_output_format(sub, flip_args.format);
    return sub;
  };
  auto* failover = add_flip("failover", "the DR site becomes the pair's source: drift is then "
                                        "judged from it (mappings and expected differences still "
                                        "apply as declared)");
  auto* failback = add_flip("failback", "the pair's configured source is its source again");

  flowdrift::ctl::ReadinessArgs readiness_args;
  auto* readiness = cli.add_subcommand(
      "readiness", "what failing the pair over now would do, from its last comparison: exit 0 "
                   "ready, 1 not ready, 2 error; the Markdown and HTML forms are the compliance "
                   "report");
  readiness->add_option("-c,--config", readiness_args.config,
                        "flowdriftd configuration: the pair, its mappings and expectations, the "
                        "database")->required();
  readiness->add_option("--pair", readiness_args.pair, "pair name")->required();
  readiness->add_option("--db,--database", readiness_args.db, "database file (default: storage.path)");
  readiness->add_option("--format", readiness_args.format, "md, html or json")
      ->check(CLI::IsMember({"md", "html", "json"}))
      ->capture_default_str();
  add_out_file(readiness, readiness_args.output, "write the report to FILE", deprecated);

  flowdrift::ctl::ExplainArgs explain_args;
  auto* explain = cli.add_subcommand(
      "explain", "one policy of a pair: its drift items, fields, example flows, references, "
                 "mapping rules, expected differences and stored history");
  explain->add_option("pair", explain_args.pair, "pair name")->required();
  explain->add_option("policy", explain_args.policy,
                      "policy name (the source's; the replica's name before mapping works too)")
      ->required();
  auto* explain_cfg = explain->add_option(
      "-c,--config", explain_args.config,
      "flowdriftd configuration: the pair's mappings and expectations, and storage.path "
      "(default /etc/flowdrift/flowdrift.yaml unless --db or --server)");
  auto* explain_db = explain->add_option(
      "--db", explain_args.db,
      "database file (without --config: mappings and expectations not applied)");
  add_server(explain, explain_args.server, {explain_cfg, explain_db});
  add_output_format(explain, explain_args.format);

  try {
    cli.parse(argc, argv);
    warn_deprecated(deprecated);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : flowdrift::ctl::kExitError;
  }
  // Every input problem is reported by the commands with its place; this only keeps a defect
  // from aborting the process (exit 134) instead of exiting 2 with a message.
  try {
    if (*diff) return flowdrift::ctl::run_diff(diff_args, std::cout, std::cerr);
    if (*dump) return flowdrift::ctl::run_dump(dump_args, std::cout, std::cerr);
    if (*exp) {
      if (export_args.from.empty() && export_args.site.empty()) {
        std::cerr << "flowdriftctl export: give --config and --site, or --from FILE\n";
        return flowdrift::ctl::kExitError;
      }
      return flowdrift::ctl::run_export(export_args, std::cout, std::cerr);
    }
    if (*plan) return flowdrift::ctl::run_plan(plan_args, std::cout, std::cerr);
    if (*apply) return flowdrift::ctl::run_apply(apply_args, std::cout, std::cerr);
    if (*status) return flowdrift::ctl::run_status(db_args, std::cout, std::cerr);
    if (*verify) return flowdrift::ctl::run_verify(db_args, std::cout, std::cerr);
    if (*drift) return flowdrift::ctl::run_drift(db_args, std::cout, std::cerr);
    if (*history) return flowdrift::ctl::run_history(db_args, std::cout, std::cerr);
    if (*explain) return flowdrift::ctl::run_explain(explain_args, std::cout, std::cerr);
    if (*readiness) return flowdrift::ctl::run_readiness(readiness_args, std::cout, std::cerr);
    if (*failover || *failback) {
      flip_args.action = *failover ? "failover" : "failback";
      return flowdrift::ctl::run_flip(flip_args, std::cout, std::cerr);
    }
  } catch (const std::exception& e) {
    std::cerr << "flowdriftctl: internal error: " << flowdrift::printable(e.what()) << "\n";
  }
  return flowdrift::ctl::kExitError;
}
