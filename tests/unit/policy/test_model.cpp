#include <catch2/catch.hpp>

#include "core/sha256.hpp"
#include "policy/model.hpp"
#include "support/canonical.hpp"

using namespace flowdrift;
using namespace flowdrift::policy;

namespace {

CanonicalObject obj(ObjectKind kind, const std::string& name, const std::string& json) {
  return flowdrift::test::canonical_object(kind, name, json);
}

}  // namespace

TEST_CASE("Snapshot::count counts objects of one kind", "[unit][policy]") {
  Snapshot s;
  s.objects = {obj(ObjectKind::Policy, "a", "{}"), obj(ObjectKind::Policy, "b", "{}"),
               obj(ObjectKind::AddressGroup, "g", "{}"), obj(ObjectKind::Category, "k:v", "{}")};
  CHECK(s.count(ObjectKind::Policy) == 2);
  CHECK(s.count(ObjectKind::AddressGroup) == 1);
  CHECK(s.count(ObjectKind::ServiceGroup) == 0);
  CHECK(s.count(ObjectKind::Category) == 1);
}

TEST_CASE("snapshot_hash depends on content, not on order", "[unit][policy]") {
  const auto a = obj(ObjectKind::Policy, "a", R"({"x":1})");
  const auto b = obj(ObjectKind::Policy, "b", R"({"x":2})");
  const auto g = obj(ObjectKind::AddressGroup, "a", R"({"x":1})");
  const std::string h = snapshot_hash({a, b, g}, 1);
  CHECK(h.size() == 64);
  CHECK(h == snapshot_hash({g, b, a}, 1));

  SECTION("canon version is part of the hash") { CHECK(h != snapshot_hash({a, b, g}, 2)); }
  SECTION("object content is part of the hash") {
    CHECK(h != snapshot_hash({a, obj(ObjectKind::Policy, "b", R"({"x":3})"), g}, 1));
  }
  SECTION("names and kinds are part of the hash") {
    CHECK(h != snapshot_hash({a, obj(ObjectKind::Policy, "c", R"({"x":2})"), g}, 1));
    CHECK(h != snapshot_hash({a, b, obj(ObjectKind::ServiceGroup, "a", R"({"x":1})")}, 1));
  }
  SECTION("an added object changes the hash") {
    CHECK(h != snapshot_hash({a, b, g, obj(ObjectKind::Category, "k:v", "{}")}, 1));
  }
  SECTION("field boundaries cannot be shifted") {
    auto x = obj(ObjectKind::Policy, "ab", "{}");
    auto y = obj(ObjectKind::Policy, "a", "{}");
    y.hash = "b" + x.hash;
    CHECK(snapshot_hash({x}, 1) != snapshot_hash({y}, 1));
  }
  SECTION("empty snapshot has a stable hash") {
    CHECK(snapshot_hash({}, 1) == snapshot_hash({}, 1));
    CHECK(snapshot_hash({}, 1) != h);
  }
}

TEST_CASE("findings order by kind, object, detail", "[unit][policy]") {
  Finding a{"dangling_reference", "web", "x"};
  Finding b{"dangling_reference", "web", "y"};
  Finding c{"duplicate_name", "app", "x"};
  CHECK(a < b);
  CHECK(b < c);
  CHECK(a == Finding{"dangling_reference", "web", "x"});
}
