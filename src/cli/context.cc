#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/region_access.h"
#include "region/remote_chunks.h"
#include "region/remote_snapshots.h"
#include "rpfs/names.h"
#include "util/clock.h"
#include "virt/libvirt_hypervisor.h"

namespace rpfs::cli {

namespace {

// With --wait, a store another process has open (Busy) is tried again until the deadline.
Result<std::unique_ptr<Repository>> OpenWaiting(const std::string& store_dir, uint32_t wait_s) {
  const int64_t deadline = MonotonicMicros() + static_cast<int64_t>(wait_s) * 1000000;
  for (;;) {
    auto repo = Repository::Open(store_dir);
    if (repo.ok() || !repo.status().IsBusy() || MonotonicMicros() >= deadline) return repo;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

Result<std::shared_ptr<Repository>> Context::OpenRepo() const {
  if (served != nullptr) return std::shared_ptr<Repository>(std::shared_ptr<void>(), served);
  RPFS_ASSIGN_OR_RETURN(auto repo, OpenWaiting(store_dir, wait_s));
  repo->SetHypervisorFactory(virt::ConnectLibvirt);
  // Clones of region snapshots read their chunks through the region (docs/region.md).
  // One connection per region, shared by every clone disk reading from it.
  struct Connections {
    std::mutex mu;
    std::map<std::string, std::shared_ptr<RemoteChunks>> by_region;
  };
  repo->SetRemoteChunksFactory(
      [r = repo.get(), c = std::make_shared<Connections>()](
          const std::string& source) -> Result<std::shared_ptr<RemoteChunks>> {
        RPFS_ASSIGN_OR_RETURN(std::string name, region::RegionOfCloneSource(source));
        std::lock_guard lock(c->mu);
        auto& chunks = c->by_region[name];
        if (!chunks) {
          RPFS_ASSIGN_OR_RETURN(auto opened, OpenRegion(*r, name));
          chunks = region::NewRegionChunks(std::move(opened));
        }
        return chunks;
      });
  // The mount's .region/ view: the snapshots of the store's regions.
  repo->SetRemoteSnapshots(region::NewRegionSnapshots(
      repo.get(), [r = repo.get()](const std::string& name) { return OpenRegion(*r, name); }));
  return std::shared_ptr<Repository>(std::move(repo));
}

std::string Context::Path(const std::string& p) const {
  if (p.empty() || p[0] == '/' || cwd.empty()) return p;
  return (std::filesystem::path(cwd) / p).lexically_normal().string();
}

int Context::Fail(const Status& s) const {
  std::fprintf(err, "rpfs: %s\n", s.message().c_str());
  return ExitCodeFor(s);
}

bool Context::CheckName(const std::string& name, const char* what, int* exit_code) const {
  Status s = ValidateName(name, what);
  if (s.ok()) return true;
  *exit_code = Fail(s);
  return false;
}

Result<control::Outcome> Context::Run(Repository& repo, const std::string& vm,
                                      const control::Command& cmd,
                                      const ProgressFn& progress) const {
  if (ops != nullptr) return ops->Run(vm, cmd, progress, client_pid, wait_s, caller_gone);
  return control::Operations(&repo).Run(vm, cmd, progress, static_cast<uint32_t>(::getpid()),
                                        wait_s);
}

Result<control::Outcome> Context::OpenAndRun(const std::string& vm, const control::Command& cmd,
                                             const std::string& progress_label) const {
  RPFS_ASSIGN_OR_RETURN(std::shared_ptr<Repository> repo, OpenRepo());
  std::optional<ProgressBar> bar;
  if (!progress_label.empty()) bar.emplace(err, progress_label);
  auto done = Run(*repo, vm, cmd, bar ? bar->Callback() : nullptr);
  if (bar) bar->Finish();
  return done;
}

int Context::RunAndPrintSummary(const std::string& vm, const control::Command& cmd,
                                const std::string& progress_label) const {
  auto done = OpenAndRun(vm, cmd, progress_label);
  if (!done.ok()) return Fail(done.status());
  Report(OutcomeJson(vm, *done), done->summary + "\n");
  return kExitOk;
}

void Context::Report(const nlohmann::json& j, const std::string& text) const {
  if (json) {
    PrintJson(j);
  } else {
    std::fputs(text.c_str(), out);
  }
}

void Context::PrintJson(const nlohmann::json& j) const {
  // Text fields went through JsonText() (json_text.h); should one have been missed, a
  // byte that is not UTF-8 is written as U+FFFD instead of throwing.
  std::fputs((j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n").c_str(), out);
}

}  // namespace rpfs::cli
