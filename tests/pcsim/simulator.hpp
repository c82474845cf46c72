// pcsim's core: an in-memory Prism Central answering the v3 API endpoints flowdrift uses
// (security rules list/CRUD, address/service groups and category values list/CRUD) and the v4
// microseg/prism/networking API at every version v4.0..v4.N (lists, GET one with ETag, writes
// with If-Match answering task references; entity groups, VPCs and v4-native policies from the
// data file's "v4" section, read-only), with basic auth, fault injection, churn, api modes and an
// admin API. Both APIs read and write one site. Pure request -> reply. Writes: writes_v3.cpp,
// writes_v4.cpp; v4-native content: v4_native.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/server.hpp"
#include "http/types.hpp"
#include "pcsim/faults.hpp"
#include "pcsim/site.hpp"
#include "pcsim/v4.hpp"
#include "pcsim/v4_native.hpp"

namespace flowdrift::pcsim {

namespace detail {
struct ListQuery;     // a parsed v3 list request body
struct FaultOutcome;  // what the active faults do to one request
}  // namespace detail

inline constexpr std::string_view kApiBase = "/api/nutanix/v3";
inline constexpr int kDefaultPageLength = 20;
inline constexpr int kMaxPageLength = 500;

struct SimulatorOptions {
  std::string user = "admin";
  std::string password = "nutanix/4u";
  // Seeds this instance's uuids, timestamps, spec_versions and rule_ids. Unset = random, so
  // two simulators loaded from the same SiteData differ in every per-PC identifier.
  std::optional<std::uint64_t> instance_seed;
  bool churn = false;
  std::vector<FaultSpec> faults;
  // "v3" (pre-NG PC: v4 paths 404), "v4" (FNS Next-Gen: v3 rule APIs 410) or "both".
  std::string api_mode = "both";
  // The newest v4 version served, "v4.0".."v4.3": /api/<ns>/v4.M/... answer for every M up to
  // it (same data); newer ones answer the v4 404.
  std::string v4_version = "v4.3";
  // The most entities a v3 list page holds whatever `length` asks (a PC's server-side cap);
  // kMaxPageLength at most.
  int max_page_length = kMaxPageLength;
  // The same cap on v4 list pages whatever `$limit` asks (links and paging still follow
  // `$limit`); v4::kMaxLimit at most.
  int max_v4_page_length = static_cast<int>(v4::kMaxLimit);
  // Per v4 namespace ("microseg", "prism", "networking", "datapolicies", "vmm"): the newest
  // version it serves when it lags v4_version (a PC whose services are at different levels), or
  // "none" (that API absent: its paths answer the v4 404). Unlisted namespaces serve up to
  // v4_version.
  std::map<std::string, std::string> v4_namespace_versions = {};
  // A separate account for writes, as a PC with a read-only monitoring user has: when set, it
  // may read and write, while `user` gets 403 on every write. Unset: `user` does both.
  std::string write_user = {};
  std::string write_password = {};
  // A service account's API key (PC 2024.3+): a request whose X-ntnx-api-key header carries it
  // may read, as `user` may. A request that sends the header with any other value gets 401
  // whatever else it carries. Unset: no key is accepted.
  std::string api_key = {};
};

// An object of the data file's "v4" section as this instance serves it (references resolved,
// extIds and read-only fields added). Entity groups get policyExtIds when served.
struct V4NativeObject {
  std::string ext_id;
  std::string name;
  nlohmann::json object;
  std::string text;  // object.dump()
};

// Thread-safe: every public member takes one internal mutex (tests drive the API from their
// own thread while the server thread calls handle()). Latency faults are returned as
// ServerReply::delay, never slept under the lock.
class Simulator {
 public:
  // Throws std::runtime_error if a rule references a group name the site does not define, or if
  // site.v4 is malformed or holds an unresolvable "@kind:name" reference (the message names the
  // place); std::invalid_argument on a bad api_mode, v4_version, max_page_length,
  // max_v4_page_length or v4_namespace_versions entry.
  explicit Simulator(const SiteData& site, SimulatorOptions options = {});

  http::ServerReply handle(const http::HttpRequest& request);

  // Runtime control (also reachable through /_pcsim/*).
  void add_fault(FaultSpec spec);
  void clear_faults();
  std::vector<FaultSpec> faults() const;
  void set_churn(bool on);
  bool churn() const;
  nlohmann::json stats() const;  // same document as GET /_pcsim/stats
  void reset_stats();
  // Throws std::invalid_argument unless mode is "v3", "v4" or "both". Data and ids are kept.
  void set_api_mode(const std::string& mode);
  std::string api_mode() const;
  // Throws std::invalid_argument unless version is "v4.0".."v4.3". Data and ids are kept.
  void set_v4_version(const std::string& version);
  std::string v4_version() const;
  // Sets (or with "" clears) one namespace's entry of SimulatorOptions::v4_namespace_versions.
  // Throws std::invalid_argument on an unknown namespace, or a version not "none"/"v4.0".."v4.3".
  void set_v4_namespace_version(const std::string& ns, const std::string& version);
  // This instance's v4 extId of a named object, as a data file's "@<kind>:<name>" reference
  // resolves it (kind category with name "Key:Value", address_group, service_group, vpc,
  // entity_group); nullopt if there is none.
  std::optional<std::string> v4_ext_id(std::string_view kind, const std::string& name) const;

  // Direct access for tests, bypassing HTTP, auth and faults.
  std::size_t rule_count() const;
  std::vector<std::string> rule_names() const;  // sorted
  std::optional<nlohmann::json> rule_by_name(std::string_view name) const;  // listed entity
  std::optional<std::string> address_group_uuid(std::string_view name) const;
  std::optional<std::string> service_group_uuid(std::string_view name) const;
  // Creates a rule as POST would (group references by name resolved); returns its uuid.
  std::string add_rule(const SiteRule& rule);
  // Edits the spec of the (first) rule called `name` as a UI user would: spec_version + 1,
  // last_update_time now. Group references added by name are resolved. False if no such rule.
  bool edit_rule(std::string_view name, const std::function<void(nlohmann::json& spec)>& edit);
  bool remove_rule(std::string_view name);
  // Names of the policies whose allow lists reference the address/service group `uuid`, or
  // whose category filters use key:value (sorted).
  std::vector<std::string> policies_using_group(std::string_view uuid) const;
  std::vector<std::string> policies_using_category(std::string_view key, std::string_view value) const;

 private:
  struct Rule {
    std::string uuid;
    std::string name;
    std::string entity;  // serialized {metadata, spec, status}, as listed
    // The v4 object serialized, valid while v4_epoch equals the simulator's v4_epoch_ (0:
    // never built). Converting per request was most of pcsim's CPU in the benchmark.
    mutable std::string v4_text;
    mutable std::uint64_t v4_epoch = 0;
  };
  struct Listed {  // a cached list entity of the other kinds
    std::string sort_key;
    std::string entity;
  };
  // Groups as stored (one object, two API views); `revision` counts writes (part of the v4 ETag).
  struct StoredAddressGroup {
    AddressGroup group;
    std::uint64_t revision = 0;
  };
  struct StoredServiceGroup {
    ServiceGroup group;
    std::uint64_t revision = 0;
  };
  struct ActiveFault {
    FaultSpec spec;
    int seen = 0;
    int applied = 0;
  };
  using ListQuery = detail::ListQuery;
  using UuidByName = std::map<std::string, std::string, std::less<>>;  // name -> uuid
  using FaultOutcome = detail::FaultOutcome;

  // All private members expect mu_ to be held.
  http::ServerReply dispatch(const http::HttpRequest& request, const std::string& endpoint,
                             std::vector<std::string_view>& parts);
  FaultOutcome evaluate_faults(const std::string& endpoint, bool is_list, long long offset);
  bool writing_ = false;  // the request being handled writes (for the `writes` fault endpoint)
  http::ServerReply handle_admin(const http::HttpRequest& request, std::string_view path);
  // GET/POST of one string setting ({"<key>": value}); `valid` vets a POSTed value (else 400
  // {"error": usage}).
  http::ServerReply admin_setting(const http::HttpRequest& request, const char* key,
                                  std::string& setting, bool (*valid)(std::string_view),
                                  const std::string& usage);
  http::ServerReply list_rules(const ListQuery& q, const FaultOutcome& f);
  http::ServerReply list_cached(const ListQuery& q, const FaultOutcome& f,
                                const std::vector<Listed>& items, nlohmann::json metadata,
                                bool paging_metadata);
  http::ServerReply get_rule(const std::string& uuid);
  http::ServerReply create_rule(const http::HttpRequest& request);
  // A create or update's (validated) `spec` with its references resolved and its rule ids
  // assigned, into *out; else the 422 reply.
  std::optional<http::ServerReply> resolved_spec(const nlohmann::json& spec, nlohmann::json* out);
  http::ServerReply update_rule(const std::string& uuid, const http::HttpRequest& request);
  http::ServerReply delete_rule(const std::string& uuid);
  http::ServerReply get_task(const std::string& uuid);
  http::ServerReply dispatch_v4(const http::HttpRequest& request, const std::string& endpoint,
                                std::string_view id);

  // writes_v3.cpp: address/service group and category value CRUD (v3 shapes).
  http::ServerReply dispatch_v3_objects(const http::HttpRequest& request, const std::string& endpoint,
                                        const std::vector<std::string_view>& parts);
  // Address groups (ags_, ag_uuid_) or service groups (sgs_, sg_uuid_).
  template <class Stored>
  http::ServerReply v3_group(const http::HttpRequest& request, const std::string& uuid,
                             std::map<std::string, Stored>& stored, const UuidByName& uuid_by_name);
  http::ServerReply v3_category_key(const http::HttpRequest& request, const std::string& key);
  http::ServerReply v3_category_value(const http::HttpRequest& request, const std::string& key,
                                      const std::string& value);
  // writes_v4.cpp: GET one / POST / PUT / DELETE of v4 objects, v4 tasks.
  http::ServerReply dispatch_v4_object(const http::HttpRequest& request, const std::string& endpoint,
                                       const std::string& id);
  http::ServerReply v4_policy(const http::HttpRequest& request, const std::string& id);
  template <class Stored>  // as v3_group
  http::ServerReply v4_group(const http::HttpRequest& request, const std::string& id,
                             std::map<std::string, Stored>& stored, const UuidByName& uuid_by_name);
  http::ServerReply v4_category(const http::HttpRequest& request, const std::string& id);
  http::ServerReply v4_task(const std::string& id);
  std::string v4_task_reference(const std::string& endpoint, const std::string& operation,
                                const std::string& entity_id, std::string_view entity_rel);
  // v4_native.cpp: the data file's "v4" section (loading, entity groups, VPCs, native policies).
  void load_v4_native(const SiteV4& site);
  http::ServerReply admin_entity_sync(const http::HttpRequest& request);
  // coverage.cpp: VMs, protection rules and recovery plans (PUT /_pcsim/coverage).
  http::ServerReply admin_coverage(const http::HttpRequest& request);
  std::string coverage_uuid(const std::string& kind, const std::string& name);
  nlohmann::json coverage_vm(const nlohmann::json& vm);
  nlohmann::json coverage_rule(const nlohmann::json& rule);
  nlohmann::json coverage_plan(const nlohmann::json& plan);
  // The same coverage over v4 (vmm VMs, datapolicies protection policies, recovery plans and
  // their stages): every serialized item of the list `endpoint` (v4_vms, ...), `parent` the
  // plan extId of v4_recovery_stages. Category extIds are the site's (an undefined key:value
  // gets a stable hash-derived one, which resolves to nothing).
  std::vector<std::string> v4_coverage_list(const std::string& endpoint, const std::string& parent);
  std::string coverage_category_id(const std::string& key, const std::string& value) const;
  // The coverage document's recovery plan whose v4 extId is `ext_id`; nullopt if none.
  std::optional<nlohmann::json> coverage_plan_by_id(const std::string& ext_id);
  nlohmann::json v4_coverage_vm(const nlohmann::json& vm);
  nlohmann::json v4_coverage_policy(const nlohmann::json& rule);
  nlohmann::json v4_coverage_plan(const nlohmann::json& plan);
  std::vector<nlohmann::json> v4_coverage_stages(const nlohmann::json& plan);
  http::ServerReply v4_entity_sync_object(const http::HttpRequest& request, const std::string& id) const;
  // The extId of a synced entity named `name`, as this PC knows it ("" when it has none).
  std::string synced_entity_ext_id(const std::string& type, const std::string& name) const;
  std::vector<V4NativeObject> new_v4_objects(const nlohmann::json& items,
                                             std::string_view kind) const;
  void resolve_v4_objects(std::vector<V4NativeObject>& objects, const std::string& where) const;
  // extId, read-only fields and served text of each kind (see README "v4-native content").
  void finish_vpc(V4NativeObject& vpc) const;
  void finish_entity_group(V4NativeObject& group);
  void finish_native_policy(V4NativeObject& policy);
  void load_policy_fields(const nlohmann::json& fields);
  std::optional<std::string> v4_reference(std::string_view kind, const std::string& name) const;
  v4::ReferenceLookup v4_lookup() const;  // v4_reference() as a v4::ReferenceLookup
  nlohmann::json entity_group_object(const V4NativeObject& group) const;  // with policyExtIds
  // The serialized objects of a v4 list at [offset, offset + limit); *total = the list's size.
  // `parent`: the extId in the path of a sub-collection (a recovery plan's stages), else "".
  std::vector<std::string> v4_list_page(const std::string& endpoint, const std::string& parent,
                                        std::size_t offset, std::size_t limit, std::size_t* total);
  std::vector<std::string> v4_policy_page(std::size_t offset, std::size_t limit,
                                          std::size_t* total);
  http::ServerReply v4_read_only_object(const http::HttpRequest& request,
                                        const std::string& endpoint, const std::string& id);
  // GET (or 405 for a write) of a native policy; nullopt if `id` is none.
  std::optional<http::ServerReply> v4_native_policy(const http::HttpRequest& request,
                                                    const std::string& id) const;
  // admin: POST /_pcsim/force_delete (a group or category value still in use).
  http::ServerReply force_delete(const http::HttpRequest& request);

  std::string new_uuid();
  std::string now_time() const;
  // (creationTime, lastUpdateTime) of an object loaded from the site: within 90 days of epoch_.
  std::pair<std::string, std::string> random_times(std::mt19937_64& rng) const;
  std::string insert_rule(nlohmann::json spec, nlohmann::json categories, long long spec_version,
                          const std::string& creation_time, const std::string& update_time,
                          std::optional<std::string> uuid);
  void resolve_references(nlohmann::json& spec) const;
  v4::IdSource v4_ids() const;
  nlohmann::json v4_policy_of(const Rule& rule) const;
  // v4_policy_of(rule).dump(), cached on the rule until the rule or the v4 view changes.
  const std::string& v4_policy_text(const Rule& rule) const;
  std::string add_v3_task(const std::string& operation, std::string_view kind,
                          const std::string& entity_uuid);
  // Regenerate the cached list texts (v3 and v4) and the name -> uuid maps after a write.
  void rebuild_group_views();
  void rebuild_category_views();
  bool category_defined(const std::string& key, const std::string& value) const;
  std::vector<std::string> policies_using_group_locked(std::string_view uuid) const;
  std::vector<std::string> policies_using_category_locked(std::string_view key,
                                                          std::string_view value) const;
  void assign_rule_ids(nlohmann::json& spec, bool renumber);
  void churn_one();
  const std::vector<const Rule*>& sorted_rules();
  void record(const std::string& endpoint, const std::string& status_key);
  nlohmann::json fault_list() const;
  nlohmann::json stats_document() const;
  void reset_stats_locked();

  mutable std::mutex mu_;
  SimulatorOptions options_;
  std::mt19937_64 rng_;
  std::string owner_uuid_;
  std::chrono::system_clock::time_point epoch_;  // this instance's "site creation" time

  std::unordered_map<std::string, Rule> rules_;  // by uuid; node-based, pointers stay valid
  std::vector<const Rule*> sorted_;              // by (name, uuid)
  bool sorted_dirty_ = true;
  // The site's groups and categories (source of truth for both views).
  std::map<std::string, StoredAddressGroup> ags_;  // by uuid (= v4 extId)
  std::map<std::string, StoredServiceGroup> sgs_;  // by uuid (= v4 extId)
  std::map<std::string, CategoryKey> category_defs_;                 // by key name
  std::map<std::string, std::string> category_value_descriptions_;  // "key\nvalue" -> text
  // Cached views, rebuilt by rebuild_*_views().
  std::vector<Listed> address_groups_, service_groups_, category_keys_;
  std::map<std::string, std::vector<Listed>> category_values_;
  UuidByName ag_uuid_, sg_uuid_;
  std::map<std::string, nlohmann::json> tasks_;                        // task uuid -> task
  std::map<std::string, nlohmann::json> v4_tasks_;                     // task extId -> task

  // v4 view: category "key\nvalue" -> extId, and the serialized v4 group/category objects.
  std::mt19937_64 v4_rng_;
  std::uint64_t v4_salt_ = 0;
  std::map<std::string, std::string> category_ext_id_;
  std::vector<std::string> v4_address_groups_, v4_service_groups_, v4_categories_;
  // Bumped whenever what a v4 policy text depends on besides its rule (category extIds, the
  // group views) is rebuilt: every cached Rule::v4_text is stale then.
  std::uint64_t v4_epoch_ = 1;
  int newest_minor_ = 0;   // options_.v4_version's M
  int request_minor_ = 0;  // the M of the v4 request being answered (links of its replies)
  // v4-native content, each sorted by (name, extId); policy_fields by v3 policy uuid.
  std::vector<V4NativeObject> vpcs_, entity_groups_, native_policies_;
  // datapolicies v4.1+ entity-sync-policies (Nutanix's own sync status of synced entities),
  // as set through PUT /_pcsim/entity_sync (entity_sync.cpp). Empty until set.
  std::vector<nlohmann::json> entity_sync_;
  // v3 vms, protection_rules and recovery_plans lists, as set through PUT /_pcsim/coverage.
  std::vector<Listed> vms_;
  std::vector<Listed> protection_rules_;
  std::vector<Listed> recovery_plans_;
  std::map<std::string, std::string> coverage_uuids_;  // kind \n name -> uuid
  nlohmann::json coverage_doc_ = nlohmann::json::object();  // as last PUT (the v4 lists' source)
  std::map<std::string, nlohmann::json> policy_fields_;

  std::vector<ActiveFault> faults_;
  std::size_t churn_cursor_ = 0;
  std::uint64_t churn_edits_ = 0;

  std::uint64_t total_requests_ = 0;
  std::map<std::string, std::map<std::string, std::uint64_t>> by_endpoint_;
  std::map<std::string, std::uint64_t> by_status_;
  std::map<std::string, std::uint64_t> faults_applied_;
};

}  // namespace flowdrift::pcsim
