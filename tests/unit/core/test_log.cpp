#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "core/result.hpp"
#include "core/sha256.hpp"

using namespace flowdrift;

TEST_CASE("format_event renders key=value pairs and quotes awkward values", "[unit][log]") {
  const auto f = log::Format::Logfmt;
  CHECK(log::format_event("poll.ok", {{"site", "dr"}, {"policies", 12}}, f) ==
        "event=poll.ok site=dr policies=12");
  CHECK(log::format_event("poll.failed", {{"message", "connection refused"}}, f) ==
        "event=poll.failed message=\"connection refused\"");
  CHECK(log::format_event("x", {{"v", "a\"b"}}, f) == "event=x v=\"a\\\"b\"");
  CHECK(log::format_event("x", {{"v", "a=b"}}, f) == "event=x v=\"a=b\"");
  CHECK(log::format_event("x", {{"v", "a\\b"}}, f) == "event=x v=\"a\\\\b\"");
  CHECK(log::format_event("x", {{"v", ""}}, f) == "event=x v=\"\"");
}

TEST_CASE("format_event renders JSON members, numbers bare", "[unit][log]") {
  const auto f = log::Format::Json;
  CHECK(log::format_event("poll.ok", {{"site", "dr"}, {"policies", 12}, {"share", 0.5}}, f) ==
        "\"event\":\"poll.ok\",\"site\":\"dr\",\"policies\":12,\"share\":0.500000");
  // JSON has no NaN: such a number is written as a string.
  const auto nan = log::format_event("x", {{"v", std::numeric_limits<double>::quiet_NaN()}}, f);
  CHECK(nlohmann::json::parse("{" + nan + "}").at("v").is_string());
}

namespace {

// stderr sent to a file while it lives; lines() reads what was written.
class StderrCapture {
 public:
  StderrCapture() : path_(std::filesystem::temp_directory_path() /
                          ("flowdrift-log-" + std::to_string(::getpid()) + ".txt")) {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    ::close(fd);
  }
  ~StderrCapture() {
    restore();
    std::filesystem::remove(path_);
  }
  // "DEVICE:INODE" of the file, as systemd sets JOURNAL_STREAM.
  std::string stream_id() const {
    struct stat st{};
    ::stat(path_.c_str(), &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }
  std::vector<std::string> lines() {
    std::fflush(stderr);
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  std::filesystem::path path_;
  int saved_ = -1;
};

// JOURNAL_STREAM set (or unset) for one scope.
class JournalStream {
 public:
  explicit JournalStream(const std::string& value) { ::setenv("JOURNAL_STREAM", value.c_str(), 1); }
  ~JournalStream() { ::unsetenv("JOURNAL_STREAM"); }
};

// logfmt keys in order, as a logfmt reader splits the line: bare values end at a space, quoted
// ones at the first unescaped quote.
std::vector<std::string> logfmt_keys(const std::string& line) {
  std::vector<std::string> keys;
  std::size_t i = 0;
  while (i < line.size()) {
    const auto eq = line.find('=', i);
    if (eq == std::string::npos) break;
    keys.push_back(line.substr(i, eq - i));
    i = eq + 1;
    if (i < line.size() && line[i] == '"') {
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\') ++i;
      }
      ++i;  // the closing quote
    } else {
      while (i < line.size() && line[i] != ' ') ++i;
    }
    if (i < line.size() && line[i] == ' ') ++i;
  }
  return keys;
}

const std::string kForged = "x\" level=error event=forged\n{\"ts\":1}\r\x1b[2J";

}  // namespace

TEST_CASE("Each line names its time, level and component, in logfmt or JSON", "[unit][log]") {
  auto l = log::get("logtest");
  SECTION("logfmt") {
    StderrCapture capture;
    log::setup("debug", log::Format::Logfmt);
    log::warn(l, "poll.failed", {{"site", "dr"}, {"message", kForged}});
    log::debug(l, "poll.started", {{"site", "dr"}});
    const auto lines = capture.lines();
    capture.restore();
    REQUIRE(lines.size() == 2);
    const std::regex shape(
        "ts=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z level=warn component=logtest "
        "event=poll.failed site=dr message=\".*\"");
    CHECK(std::regex_match(lines[0], shape));
    // The hostile value stays one quoted value: no forged field, no second line.
    CHECK(logfmt_keys(lines[0]) ==
          std::vector<std::string>{"ts", "level", "component", "event", "site", "message"});
    CHECK_THAT(lines[1], Catch::Contains(" level=debug component=logtest event=poll.started"));
  }
  SECTION("json") {
    StderrCapture capture;
    log::setup("info", log::Format::Json);
    log::error(l, "store.failed", {{"message", kForged}, {"attempt", 3}});
    log::debug(l, "not.shown");
    const auto lines = capture.lines();
    capture.restore();
    REQUIRE(lines.size() == 1);
    const auto j = nlohmann::json::parse(lines[0]);
    CHECK(j.size() == 6);
    CHECK(j.at("level") == "error");
    CHECK(j.at("component") == "logtest");
    CHECK(j.at("event") == "store.failed");
    CHECK(j.at("attempt") == 3);
    CHECK(j.at("message").get<std::string>().find('\n') == std::string::npos);
    CHECK_THAT(j.at("message").get<std::string>(), Catch::StartsWith("x\" level=error"));
    CHECK(std::regex_match(j.at("ts").get<std::string>(),
                           std::regex("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z")));
  }
  log::setup("info", log::Format::Logfmt);
}

// What journald needs to file each line under its priority (sd-daemon(3) prefixes), written
// when stderr is the journal's stream: JOURNAL_STREAM naming stderr's device and inode.
TEST_CASE("Under journald each line carries its priority", "[unit][log]") {
  auto l = log::get("logtest");
  StderrCapture capture;
  SECTION("JOURNAL_STREAM names stderr: auto writes the journal format") {
    JournalStream env(capture.stream_id());
    CHECK(log::stderr_is_journal());
    log::setup("debug", log::Format::Auto);
    CHECK(log::current_format() == log::Format::Journal);
    log::error(l, "e");
    log::warn(l, "w");
    log::info(l, "i", {{"site", "dr"}});
    log::debug(l, "d");
    const auto lines = capture.lines();
    capture.restore();
    CHECK(lines == std::vector<std::string>{"<3>level=error component=logtest event=e",
                                            "<4>level=warn component=logtest event=w",
                                            "<6>level=info component=logtest event=i site=dr",
                                            "<7>level=debug component=logtest event=d"});
  }
  SECTION("JOURNAL_STREAM inherited from elsewhere: logfmt") {
    JournalStream env("1:1");
    CHECK_FALSE(log::stderr_is_journal());
    log::setup("info", log::Format::Auto);
    CHECK(log::current_format() == log::Format::Logfmt);
  }
  SECTION("JOURNAL_STREAM that is not DEVICE:INODE: logfmt") {
    JournalStream env(capture.stream_id() + "x");
    CHECK_FALSE(log::stderr_is_journal());
  }
  SECTION("no JOURNAL_STREAM: logfmt") {
    ::unsetenv("JOURNAL_STREAM");
    CHECK_FALSE(log::stderr_is_journal());
  }
  capture.restore();
  log::setup("info", log::Format::Logfmt);
}

TEST_CASE("log.format names parse, plain as logfmt", "[unit][log]") {
  CHECK(log::parse_format("auto") == log::Format::Auto);
  CHECK(log::parse_format("logfmt") == log::Format::Logfmt);
  CHECK(log::parse_format("plain") == log::Format::Logfmt);
  CHECK(log::parse_format("json") == log::Format::Json);
  CHECK(log::parse_format("journal") == log::Format::Journal);
  CHECK_FALSE(log::parse_format("text"));
}

TEST_CASE("sha256_hex matches known vectors", "[unit][sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Result carries a value or an error", "[unit][result]") {
  Result<int> ok = 5;
  REQUIRE(ok.has_value());
  CHECK(*ok == 5);
  Result<int> bad = make_error(ErrorReason::Timeout, "slow");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().reason == ErrorReason::Timeout);
  CHECK(to_string(bad.error().reason) == "timeout");
  Result<void> v;
  CHECK(v.has_value());
}
