// docs/schema.md is part of the product: every table and column must be documented, and every
// ```sql block must run as written in the sqlite3 shell (with the documented parameter set-up)
// against a real database and return the rows an auditor expects.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/store.hpp"
#include "store_test_util.hpp"
#include "support/temp_dir.hpp"

using namespace flowdrift::store;
using namespace flowdrift::store::test;
using flowdrift::test::read_file;
using flowdrift::test::TempDir;
using flowdrift::test::write_file;

namespace {

const std::string kDocPath =
    (std::filesystem::path(FLOWDRIFT_SOURCE_DIR) / "docs/schema.md").string();

struct Block {
  std::string heading;  // the nearest "### " heading above the block, without the hashes
  std::string code;
};

// Fenced blocks with the given info string ("sql", "text"), in document order.
std::vector<Block> fenced_blocks(const std::string& doc, const std::string& lang) {
  std::vector<Block> out;
  std::istringstream in(doc);
  std::string line;
  std::string heading;
  std::string current;
  bool inside = false;
  bool wanted = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      if (!inside) {
        inside = true;
        wanted = line.substr(3) == lang;
        current.clear();
      } else {
        inside = false;
        if (wanted) out.push_back({heading, current});
      }
      continue;
    }
    if (inside) {
      current += line + "\n";
    } else if (line.rfind("### ", 0) == 0) {
      heading = line.substr(4);
    }
  }
  return out;
}

struct ShellResult {
  int status = -1;
  std::string out;
  std::string err;
};

ShellResult run_sqlite3(const TempDir& dir, const std::string& db, const std::string& script) {
  const std::string script_file = dir.file("script.sql");
  const std::string out_file = dir.file("out.txt");
  const std::string err_file = dir.file("err.txt");
  write_file(script_file, script);
  const std::string cmd = "sqlite3 -batch -bail -readonly '" + db + "' < '" + script_file +
                          "' > '" + out_file + "' 2> '" + err_file + "'";
  ShellResult r;
  const int rc = std::system(cmd.c_str());
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  r.out = read_file(out_file);
  r.err = read_file(err_file);
  return r;
}

constexpr std::int64_t kNoon = 1714564800000;  // 2024-05-01 12:00:00 UTC
constexpr std::int64_t kMinute = 60000;


// The database the audit queries are tried on, and the rows the first four must give.
struct AuditDb {
  TempDir dir;
  std::string path = dir.file("audit.db");
  std::string params;  // the documented parameter set-up
  std::string v2_hash;
  std::map<std::string, std::string> expected;  // by the query's number

  AuditDb() {
    const std::string doc = read_file(kDocPath);
    for (const auto& block : fenced_blocks(doc, "text")) {  // the first that sets them
      if (params.empty() && block.code.find(".parameter set") != std::string::npos) params = block.code;
    }
    const auto web_v1 = make_policy("web-to-db", "allow tcp 5432 from web");
    auto web_v2 = make_policy("web-to-db", "allow tcp 5432-5433 from web");
    web_v2.mode = "monitor";
    auto isolation = make_policy("app-isolation", "isolate dev from prod");
    isolation.policy_type = "isolation";
    isolation.mode = "monitor";
    const auto dmz = make_object(flowdrift::policy::ObjectKind::AddressGroup, "dmz", "192.0.2.0/24");
    const auto v1 = make_snapshot({web_v1, isolation, dmz});
    const auto v2 = make_snapshot({web_v2, isolation, dmz});
    v2_hash = web_v2.hash;
    {
      Store store(path);
      auto rec = [&](const PollRecord& p, const flowdrift::policy::Snapshot* s) {
        REQUIRE(store.record_poll(p, s).has_value());
      };
      rec(complete_poll("primary", kNoon), &v1);
      rec(complete_poll("dr", kNoon + kMinute / 2), &v2);  // another site: must not leak in
      rec(complete_poll("primary", kNoon + 1 * kMinute), &v1);
      rec(failed_poll("primary", kNoon + 2 * kMinute, "timeout"), nullptr);
      rec(complete_poll("primary", kNoon + 3 * kMinute), &v2);
      rec(complete_poll("primary", kNoon + 4 * kMinute), &v1);
    }
    expected = {
        // 1. policies of primary at 12:03:20: the 12:03 snapshot (v2)
        {"1", "app-isolation|isolation|monitor|" + isolation.hash + "\n" +
                  "web-to-db|application|monitor|" + web_v2.hash + "\n"},
        // 2. versions of web-to-db on primary; dr's sighting at 12:00:30 does not count
        {"2", web_v1.hash + "|enforce|2024-05-01 12:00:00|2024-05-01 12:04:00\n" + web_v2.hash +
                  "|monitor|2024-05-01 12:03:00|2024-05-01 12:03:00\n"},
        // 3. polls of primary in [12:01, 12:04)
        {"3", "2024-05-01 12:01:00|complete|ok|0|4|\n"
              "2024-05-01 12:02:00|failed|timeout|0|4|request timed out after 30s\n"
              "2024-05-01 12:03:00|complete|ok|1|4|\n"},
        // 4. canonical JSON of web-to-db v2
        {"4", web_v2.json + "\n"},
    };
  }

  // Runs `sql` in the sqlite3 shell after the documented parameter set-up.
  ShellResult run(const std::string& sql) const {
    const std::string script = ".headers off\n.mode list\n" + params + ".parameter set :hash \"'" +
                               v2_hash + "'\"\n" + sql;
    return run_sqlite3(dir, path, script);
  }
};

}  // namespace

TEST_CASE("docs/schema.md documents every table and view and their columns", "[store][docs]") {
  const std::string doc = read_file(kDocPath);
  Store store(":memory:");
  auto tables = store.db().prepare(
      "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name");
  std::vector<std::string> names;
  while (tables.step()) names.push_back(tables.column_text(0));
  REQUIRE(names.size() >= 6);
  for (const auto& table : names) {
    INFO("table " << table);
    const std::string heading = "### `" + table + "`";
    const auto start = doc.find(heading + "\n");
    REQUIRE(start != std::string::npos);
    const auto end = doc.find("\n#", start + heading.size());
    const std::string section = doc.substr(start, end - start);
    auto cols = store.db().prepare("SELECT name FROM pragma_table_info(?1)");
    cols.bind(1, table);
    int n = 0;
    while (cols.step()) {
      const std::string col = cols.column_text(0);
      INFO("column " << col);
      CHECK(section.find("| `" + col + "` |") != std::string::npos);
      ++n;
    }
    CHECK(n > 0);
  }
}

TEST_CASE("Every audit query in docs/schema.md runs in the sqlite3 shell", "[store][docs]") {
  REQUIRE(std::system("sqlite3 -version > /dev/null 2>&1") == 0);  // the shell is installed
  const AuditDb db;
  REQUIRE_FALSE(db.params.empty());
  REQUIRE(db.params.find(".parameter set :site \"'primary'\"") != std::string::npos);

  std::set<std::string> checked;
  for (const auto& q : fenced_blocks(read_file(kDocPath), "sql")) {
    INFO("query under '" << q.heading << "':\n" << q.code);
    const auto r = db.run(q.code);
    INFO("stderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    // Queries added later (e.g. for drift tables) must at least run; the four audit
    // questions must also give exactly the rows an auditor expects.
    const auto number = q.heading.substr(0, q.heading.find('.'));
    if (auto it = db.expected.find(number); it != db.expected.end()) {
      CHECK(r.out == it->second);
      checked.insert(number);
    }
  }
  CHECK(checked.size() == db.expected.size());  // none of the four was lost from the doc
}

// What /usr/share/flowdrift/queries/ holds (scripts/audit-queries.sh, run at build time): one
// file per audit query of the doc, each run with .read as its header says, same answers.
TEST_CASE("The shipped audit query files run with .read and answer as the doc's queries",
          "[store][docs]") {
  const AuditDb db;
  const auto out = db.dir.file("queries");
  const std::string cmd = std::string(FLOWDRIFT_SOURCE_DIR) + "/scripts/audit-queries.sh '" +
                          kDocPath + "' '" + out + "' /usr/share/flowdrift/queries";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(out)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::size_t audit_blocks = 0;
  for (const auto& b : fenced_blocks(read_file(kDocPath), "sql")) {
    audit_blocks += !b.heading.empty() && std::isdigit(static_cast<unsigned char>(b.heading.front())) ? 1 : 0;
  }
  REQUIRE(files.size() == audit_blocks);
  std::set<std::string> checked;
  for (const auto& f : files) {
    const auto name = f.filename().string();
    INFO(name);
    const auto text = read_file(f.string());
    CHECK_THAT(text, Catch::Contains("-- flowdrift audit query "));
    CHECK_THAT(text, Catch::Contains("--   .read /usr/share/flowdrift/queries/" + name));
    const auto r = db.run(".read '" + f.string() + "'\n");
    INFO("stderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
    const auto number = std::to_string(std::stoi(name.substr(0, 2)));
    if (auto it = db.expected.find(number); it != db.expected.end()) {
      CHECK(r.out == it->second);
      checked.insert(number);
    }
  }
  CHECK(checked.size() == db.expected.size());
}

// The views of schema version 12: every one runs in the shell, and times read as ISO-8601 UTC.
// policies counts the snapshot's policies only (not its address group).
TEST_CASE("The views give times as ISO-8601 and run in the sqlite3 shell", "[store][docs]") {
  const AuditDb db;
  for (const char* view : {"open_drift", "drift_history", "poll_history", "reload_history",
                           "apply_history", "flip_history"}) {
    INFO(view);
    const auto r = db.run(std::string("SELECT count(*) FROM ") + view + ";\n");
    INFO("stderr: " << r.err);
    CHECK(r.status == 0);
    CHECK(r.err.empty());
  }
  const auto polls = db.run(
      "SELECT started, finished, outcome, reason, policies, changed FROM poll_history "
      "WHERE site = 'primary' ORDER BY poll_id LIMIT 3;\n");
  INFO(polls.err);
  CHECK(polls.out ==
        "2024-05-01T11:59:59.750Z|2024-05-01T12:00:00.000Z|complete|ok|2|1\n"
        "2024-05-01T12:00:59.750Z|2024-05-01T12:01:00.000Z|complete|ok|2|0\n"
        "2024-05-01T12:01:59.750Z|2024-05-01T12:02:00.000Z|failed|timeout||0\n");
}
