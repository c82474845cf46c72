// VM coverage as flowdrift last read it per site, content-addressed, and the pairs' coverage
// gaps (drift/coverage.hpp; docs/schema.md `coverage_reads`, `coverage_inputs`,
// `coverage_gaps`; docs/vm-coverage.md). A site's inputs are stored once per distinct content
// (only the protected VMs and the protections: never a full inventory on every poll). Gaps
// open and resolve like drift items and are audited. Each call throws StoreError.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "drift/coverage.hpp"
#include "store/db.hpp"
#include "store/entity_sync.hpp"

namespace flowdrift::store {

// A site's last coverage read, and the inputs of its last complete one.
struct CoverageStored {
  drift::CoverageRead::State state = drift::CoverageRead::State::NotRead;
  std::string api;      // of the last complete read
  std::string reason;   // of the last read, when it failed
  std::string message;
  std::int64_t read_ms = 0;
  std::optional<std::int64_t> complete_ms;  // the last complete read (when `data` is from)
  std::int64_t vms = 0;                     // VMs the last complete read listed
  std::string input_sha256;                 // "" without a complete read
  drift::CoverageData data;                 // protected VMs and protections (complete reads)
};

// Records what a poll read (NotRead: nothing). A complete read points the site at its inputs
// (stored when new), a NotServed one at none, a failed one keeps the last complete inputs.
// Inputs no site points at any more are removed. Returns whether what the check reads changed:
// the inputs, or whether they are usable (complete).
bool record_coverage(Database& db, const std::string& site, const drift::CoverageRead& read,
                     std::int64_t now_ms);
// Nullopt when the site's coverage was never read. Stored inputs that do not parse are a
// StoreError naming the site.
std::optional<CoverageStored> coverage(Database& db, const std::string& site);

struct GapRecord {
  std::int64_t id = 0;
  std::string pair;
  drift::CoverageGap gap;
  std::int64_t opened_ms = 0;
  std::int64_t updated_ms = 0;
  std::optional<std::int64_t> resolved_ms;
};

struct GapChanges {
  std::vector<GapRecord> opened;
  std::vector<GapRecord> resolved;
  std::vector<GapRecord> updated;
};

// The pair's gaps are now `current`: new ones open, gone ones resolve, the others keep their
// opened_ms (and take what changed in them). One open row per (pair, VM id); a change of kind
// resolves the old row and opens a new one. Every write is audited.
GapChanges write_gaps(Database& db, const std::string& pair,
                      const std::vector<drift::CoverageGap>& current, std::int64_t now_ms);
// Open ones by (pair, VM name, VM id); `pair` empty: every pair's.
std::vector<GapRecord> open_gaps(Database& db, const std::string& pair = "");

// As flowdriftctl status, readiness and the API show them (TimeText: store/entity_sync.hpp).
nlohmann::json coverage_json(const std::optional<CoverageStored>& read, TimeText time);
nlohmann::json gap_json(const drift::CoverageGap& gap);

}  // namespace flowdrift::store
