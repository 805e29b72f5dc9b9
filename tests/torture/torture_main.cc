// rpfs_torture: the crash loop of issue 7. Builds a store with a few small raw-image
// VMs, then repeatedly runs a random operation as a child process, SIGKILLs it at a
// random crash point or after a random delay (or lets it finish), and checks through
// fresh processes that no committed RP, no RP's bytes and no acknowledged clone write
// were lost and that nothing half-done is visible. See docs/testing.md.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>

#include "torture/clone_child.h"
#include "torture/invariants.h"
#include "torture/operations.h"
#include "torture/pattern.h"

namespace rpfs::torture {
namespace {

struct Options {
  int iterations = 100;
  uint64_t seed = 0;
  double max_seconds = 0;  // 0: no time bound
  std::string rpfs = RPFS_BINARY;
  std::string work;
  bool keep = false;
  bool verbose = false;
  std::string ceph_conf;  // a region in this cluster's pool "rpfs": pushes, deletes, gc
};

struct KindStats {
  int runs = 0, at_point = 0, after_delay = 0, finished = 0;
  double avg_ms = 200;  // of finished runs: the range random delays are drawn from
};

int Usage() {
  std::fprintf(stderr,
               "usage: rpfs_torture [--iterations N] [--seed S] [--max-seconds T] [--rpfs BIN]\n"
               "                    [--work DIR] [--keep] [--verbose] [--ceph-conf FILE]\n");
  return 2;
}

void MakeImage(const std::string& path, uint64_t size, uint64_t seed) {
  std::vector<std::byte> data(size);
  FillPattern(seed, data);
  // A hole in the middle, so sparse reading and holes are part of every RP.
  std::fill(data.begin() + static_cast<long>(size / 3), data.begin() + static_cast<long>(size / 2),
            std::byte{0});
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(data.data(), 1, data.size(), f);
  std::fclose(f);
}

std::string MustRun(const Paths& p, const std::vector<std::string>& args) {
  auto r = RunChild(RpfsArgv(p, args), {});
  if (!r.ok()) return "setup: rpfs " + args[0] + " failed: " + r.err;
  return "";
}

std::string Setup(const Options& o, const Paths& p, Model* m) {
  if (auto e = MustRun(p, {"init"}); !e.empty()) return e;
  const uint64_t sizes[] = {4 << 20, (3 << 20) + 12345, 2 << 20};  // one odd size
  for (int i = 0; i < 3; ++i) {
    VmModel vm;
    vm.name = "vm" + std::to_string(i);
    vm.image = o.work + "/" + vm.name + ".raw";
    MakeImage(vm.image, sizes[i], o.seed * 7 + static_cast<uint64_t>(i));
    if (auto e = MustRun(p, {"vm", "add", vm.name, "--disk", "vda=" + vm.image}); !e.empty()) {
      return e;
    }
    if (auto e = MustRun(p, {"create", vm.name, "base"}); !e.empty()) return e;
    auto bytes = std::make_shared<std::vector<std::byte>>(ReadFile(vm.image));
    vm.rps.push_back(RpModel{"base", Sha256(*bytes), bytes, false});
    m->vms.push_back(std::move(vm));
  }
  if (!o.ceph_conf.empty()) {
    Paths checker = p;
    checker.store = p.checker_store;
    for (const Paths* s : {&p, static_cast<const Paths*>(&checker)}) {
      if (s == &checker) {
        if (auto e = MustRun(*s, {"init"}); !e.empty()) return e;
      }
      if (auto e = MustRun(*s, {"region", "add", kRegion, "--ceph-conf", o.ceph_conf});
          !e.empty()) {
        return e;
      }
    }
    m->region = true;
  }
  return "";
}

int Run(const Options& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  Paths p{o.rpfs, self, o.work + "/store", !o.ceph_conf.empty(), o.work + "/checker"};
  Model model;
  if (auto e = Setup(o, p, &model); !e.empty()) {
    std::fprintf(stderr, "rpfs_torture: %s\n", e.c_str());
    return 1;
  }
  std::map<std::string, KindStats> stats;
  CheckCounters counters;
  int done = 0;
  for (int it = 0; it < o.iterations; ++it) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (o.max_seconds > 0 && elapsed > o.max_seconds) break;
    std::mt19937_64 rng(o.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(it));
    Op op = PickOp(&rng, &model, p, it);
    KindStats& ks = stats[op.kind];
    std::map<std::string, std::string> env;
    int delay = -1;
    std::string how = "run to the end";
    int mode = static_cast<int>(rng() % 100);
    if (mode >= 15 && mode < 60 && !op.crash_points.empty()) {
      const auto& [point, most] = op.crash_points[rng() % op.crash_points.size()];
      env["RPFS_CRASH_AT"] = point + ":" + std::to_string(1 + rng() % static_cast<uint64_t>(most));
      how = "crash at " + env["RPFS_CRASH_AT"];
    } else if (mode >= 15) {
      delay = static_cast<int>(rng() % static_cast<uint64_t>(std::max(2.0, ks.avg_ms * 1.3)));
      how = "kill after " + std::to_string(delay) + " ms";
    }
    ChildResult r = RunChild(op.argv, env, delay);
    ++ks.runs;
    if (r.signal == SIGKILL) {
      ++(r.killed_by_timer ? ks.after_delay : ks.at_point);
    } else if (r.ok()) {
      ++ks.finished;
      ks.avg_ms = 0.7 * ks.avg_ms + 0.3 * r.elapsed_ms;
    }
    std::string error;
    Observed seen = Observe(p, &error);
    if (error.empty()) error = op.resolve(r, seen, &model);
    if (error.empty()) error = CheckListing(model, seen, &counters);
    if (error.empty()) error = CheckContents(model, p, &counters);
    if (o.verbose) {
      std::printf("%4d %-12s %-28s %s\n", it, op.kind.c_str(), how.c_str(),
                  r.signal == SIGKILL ? "killed"
                  : r.ok()            ? "ok"
                                      : "FAILED");
      std::fflush(stdout);
    }
    if (!error.empty()) {
      std::fprintf(stderr,
                   "rpfs_torture: FAILED at iteration %d (seed %llu): %s\n"
                   "  operation: %s (%s), exit %d signal %d\n  its stderr: %s\n"
                   "  store kept in %s\n"
                   "  reproduce: scripts/torture.sh --seed %llu --iterations %d --verbose\n",
                   it, static_cast<unsigned long long>(o.seed), error.c_str(),
                   CommandLine(op.argv, env).c_str(), how.c_str(), r.exit_code, r.signal,
                   r.err.c_str(), o.work.c_str(), static_cast<unsigned long long>(o.seed), it + 1);
      return 1;
    }
    ++done;
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  int at_point = 0, after_delay = 0, finished = 0;
  std::printf("%-12s %6s %9s %11s %9s\n", "operation", "runs", "at point", "after delay",
              "finished");
  for (const auto& [kind, s] : stats) {
    std::printf("%-12s %6d %9d %11d %9d\n", kind.c_str(), s.runs, s.at_point, s.after_delay,
                s.finished);
    at_point += s.at_point;
    after_delay += s.after_delay;
    finished += s.finished;
  }
  std::printf(
      "rpfs_torture: %d iterations (seed %llu) in %.1f s: %d killed at a crash point, %d "
      "killed after a delay, %d finished; checked %llu exports, %llu verify runs, %llu clone "
      "reads (%llu blocks), %llu region pulls; %llu committed RPs lost, %llu wrong reads\n",
      done, static_cast<unsigned long long>(o.seed), secs, at_point, after_delay, finished,
      static_cast<unsigned long long>(counters.exports),
      static_cast<unsigned long long>(counters.verifies),
      static_cast<unsigned long long>(counters.clone_reads),
      static_cast<unsigned long long>(counters.clone_blocks),
      static_cast<unsigned long long>(counters.pulls),
      static_cast<unsigned long long>(counters.lost_rps),
      static_cast<unsigned long long>(counters.wrong_reads));
  return 0;
}

}  // namespace
}  // namespace rpfs::torture

int main(int argc, char** argv) {
  using namespace rpfs::torture;  // NOLINT
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "--write-clone")
    return WriteCloneMain({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "--read-clone")
    return ReadCloneMain({args.begin() + 1, args.end()});
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows up in CI logs as it happens
  Options o;
  o.seed = static_cast<uint64_t>(std::random_device{}()) % 1000000;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : ""; };
    if (a == "--iterations") {
      o.iterations = std::stoi(value());
    } else if (a == "--seed") {
      o.seed = std::stoull(value());
    } else if (a == "--max-seconds") {
      o.max_seconds = std::stod(value());
    } else if (a == "--rpfs") {
      o.rpfs = value();
    } else if (a == "--work") {
      o.work = value();
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--verbose") {
      o.verbose = true;
    } else if (a == "--ceph-conf") {
      o.ceph_conf = value();
    } else {
      return Usage();
    }
  }
  std::string tmpl;
  if (o.work.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/rpfs-torture.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return 1;
    o.work = tmpl;
  } else {
    std::filesystem::create_directories(o.work);
  }
  std::printf("rpfs_torture: seed %llu, work dir %s\n", static_cast<unsigned long long>(o.seed),
              o.work.c_str());
  int rc = Run(o);
  if (rc == 0 && !o.keep) std::filesystem::remove_all(o.work);
  return rc;
}
