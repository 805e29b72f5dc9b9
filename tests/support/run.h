// Runs the rpfs binary (or any command) and captures its exit code and output.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace rpfs::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv[0] with `argv` and extra environment variables; stdin is /dev/null.
RunResult RunCommand(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {});
// Runs the rpfs binary under test with `--store store` prepended.
RunResult Rpfs(const std::string& store, const std::vector<std::string>& args,
               const std::map<std::string, std::string>& env = {});
// Path of the rpfs binary under test.
std::string RpfsBinary();

}  // namespace rpfs::testing

namespace rpfs::testing {

// A process started in the background with RPFS_PAUSE_AT=<point>: WaitPaused() returns
// once it has reached the point, Resume() lets it go on, Finish() collects its result.
class PausedRun {
 public:
  PausedRun(const std::vector<std::string>& argv, const std::string& pause_point,
            const std::string& work_dir, std::map<std::string, std::string> env = {});
  ~PausedRun();
  void WaitPaused();
  void Resume();
  RunResult Finish();
  int pid() const { return pid_; }

 private:
  std::string dir_;
  int pid_ = -1;
  bool finished_ = false;
};

}  // namespace rpfs::testing
