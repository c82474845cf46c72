// Child processes for integration and end-to-end tests: start a binary with arguments, its
// output going to a log file; signal, wait with a deadline, and always kill on destruction so
// a failing test leaves nothing running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace flowdrift::test {

class Process {
 public:
  // Starts `argv[0]` with `argv`; stdout and stderr are appended to `log_file`.
  // `env` entries ("NAME=value") are added to the inherited environment.
  Process(std::vector<std::string> argv, const std::string& log_file,
          std::vector<std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGKILL and reap.
  void kill();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls `file` until it exists and is non-empty (or the deadline passes); returns its content.
std::optional<std::string> wait_for_file(const std::string& file,
                                         std::chrono::milliseconds timeout);

// Directory holding the built binaries (set by CMake for integration tests).
std::string build_dir();

}  // namespace flowdrift::test
