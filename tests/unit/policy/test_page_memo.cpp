// PolicyMemoState::release_texts: every entry lets its canonical text go, in place when only the
// memo holds the policy, and by a copy without text when something else still holds it (that
// holder keeps the text it was given).
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/sha256.hpp"
#include "policy/page_memo.hpp"

namespace p = flowdrift::policy;

namespace {

std::shared_ptr<p::build::BuiltPolicy> built(const std::string& name, const std::string& text) {
  auto out = std::make_shared<p::build::BuiltPolicy>();
  out->name = name;
  out->json = text;
  out->hash = flowdrift::sha256_hex(text);
  out->categories.insert("app:" + name);
  out->findings.push_back({"dangling_reference", "", "address_group uuid x not found on site"});
  return out;
}

}  // namespace

TEST_CASE("release_texts lets a text go in place unless the policy is shared",
          "[unit][policy][memory]") {
  p::PolicyMemoState<int> memo;
  const auto alone_key = flowdrift::sha256("alone");
  const auto shared_key = flowdrift::sha256("shared");
  memo.remember(alone_key, built("alone", R"({"name":"alone"})"), 1);
  memo.remember(shared_key, built("shared", R"({"name":"shared"})"), 2);
  const p::build::BuiltPolicy* alone = memo.peek(alone_key)->policy.get();
  // A snapshot still being built from it holds the shared one.
  const std::shared_ptr<const p::build::BuiltPolicy> holder = memo.peek(shared_key)->policy;

  CHECK(memo.release_texts() == 2);
  const auto& a = *memo.peek(alone_key);
  CHECK(a.policy.get() == alone);  // the same policy, its text gone
  CHECK_FALSE(a.policy->has_text);
  CHECK(a.policy->json.empty());
  CHECK(a.policy->json.capacity() < 16);  // freed, not only cleared
  CHECK(a.policy->hash == flowdrift::sha256_hex(R"({"name":"alone"})"));
  CHECK(a.policy->categories.contains("app:alone"));
  CHECK(a.policy->findings.size() == 1);
  CHECK(a.refs == 1);

  const auto& s = *memo.peek(shared_key);
  CHECK(s.policy.get() != holder.get());  // a copy without the text
  CHECK_FALSE(s.policy->has_text);
  CHECK(s.policy->json.empty());
  CHECK(s.policy->name == "shared");
  CHECK(s.policy->findings == holder->findings);
  CHECK(s.refs == 2);
  CHECK(holder->has_text);  // the other holder keeps its text
  CHECK(holder->json == R"({"name":"shared"})");

  CHECK(memo.release_texts() == 0);  // nothing remembered with text since
}
