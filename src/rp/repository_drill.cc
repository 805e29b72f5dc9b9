// Repository::Drill and CleanDrillLeftovers: restore drills (docs/restore.md). An RP is
// booted as an instant clone in a transient, isolated domain; the drill decides from the
// guest's serial console or its agent (and, with `exec`, a command the agent runs), then
// destroys the domain and deletes the clone whatever happened.
//
// Crash safety: the domain is started with libvirt's autodestroy, so it dies with the
// connection (with this process, even on kill -9). The clone is named rpfs-drill-<random>
// and a lock file <store>/drills/<clone>.lock is held while the drill runs: a clone of that
// name whose lock nobody holds is a dead drill's, deleted by CleanDrillLeftovers (the next
// drill, and the mount at start).
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "format/keys.h"
#include "rp/domain_points.h"
#include "rp/repository_parts.h"
#include "util/clock.h"
#include "util/lock_file.h"

namespace rpfs {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr size_t kConsoleTail = 2048;        // what a result shows of the console
constexpr size_t kConsoleSearch = 4u << 20;  // what is searched for --expect

std::string DrillDir(const std::string& store_dir) { return store_dir + "/drills"; }
std::string LockPath(const std::string& store_dir, const std::string& clone) {
  return DrillDir(store_dir) + "/" + clone + ".lock";
}

std::string NewDrillCloneName() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return std::string(kDrillClonePrefix) + buf;
}

// The first kConsoleSearch bytes the guest printed (the file may not exist yet).
std::string ReadConsole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string out(kConsoleSearch, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::string Tail(const std::string& console) {
  std::string t =
      console.size() > kConsoleTail ? console.substr(console.size() - kConsoleTail) : console;
  for (char& c : t) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n') || c == 0x7f) c = '.';
  }
  return t;
}

// Waits for the sign of life of the running drill domain `uuid`.
void AwaitSignOfLife(Hypervisor& hv, const std::string& uuid, const std::string& console_file,
                     const DrillOptions& opts, DrillResult* result) {
  const int64_t started = MonotonicMicros();
  const int64_t deadline = started + static_cast<int64_t>(opts.timeout_s) * 1000000;
  for (;;) {
    const auto elapsed = static_cast<uint64_t>(MonotonicMicros() - started);
    if (!opts.expect.empty()) {
      if (ReadConsole(console_file).find(opts.expect) != std::string::npos) {
        result->ok = true;
        result->boot_us = elapsed;
        result->reason = "the serial console showed \"" + opts.expect + "\"";
        return;
      }
    } else if (hv.PingAgent(uuid).ok()) {
      result->ok = true;
      result->boot_us = elapsed;
      result->reason = "the guest agent answered";
      return;
    }
    auto dom = hv.GetDomain(uuid);
    if (!dom.ok() || dom->state == DomainState::kShutOff) {
      result->reason = "the domain stopped after " + FormatSeconds(static_cast<int64_t>(elapsed)) +
                       " (the guest powered off or crashed) before " +
                       (opts.expect.empty() ? "its agent answered"
                                            : "its serial console showed \"" + opts.expect + "\"");
      return;
    }
    if (MonotonicMicros() >= deadline) {
      result->reason =
          (opts.expect.empty() ? std::string("the guest agent did not answer")
                               : "the serial console did not show \"" + opts.expect + "\"") +
          " within " + std::to_string(opts.timeout_s) + " s";
      return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

// Runs opts.exec in the guest that showed its sign of life: the drill passes only if the
// command exits 0.
void RunDrillCommand(Hypervisor& hv, const std::string& uuid, const DrillOptions& opts,
                     DrillResult* result) {
  const std::string what = "`" + opts.exec + "`";
  const std::string within = " within " + std::to_string(opts.timeout_s) + " s";
  result->ok = false;
  // After an --expect text on the console the agent may still be starting.
  const int64_t deadline = MonotonicMicros() + static_cast<int64_t>(opts.timeout_s) * 1000000;
  while (!hv.PingAgent(uuid).ok()) {
    auto dom = hv.GetDomain(uuid);
    if (!dom.ok() || dom->state == DomainState::kShutOff) {
      result->reason += "; then the domain stopped before its guest agent could run " + what;
      return;
    }
    if (MonotonicMicros() >= deadline) {
      result->reason += "; then its guest agent did not answer" + within + " to run " + what;
      return;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  auto ran = hv.GuestExec(uuid, {"/bin/sh", "-c", opts.exec}, opts.timeout_s);
  if (!ran.ok()) {
    result->reason += "; then " + what + " could not run: " + ran.status().message();
    return;
  }
  result->exec_output = Tail(ran->out + ran->err);
  if (!ran->exited) {
    result->reason += "; then " + what + " did not finish" + within;
  } else if (ran->signal != 0) {
    result->reason += "; then " + what + " was killed by signal " + std::to_string(ran->signal);
  } else if (ran->exit_code != 0) {
    std::string err = ran->err.substr(0, 200);
    if (err.size() < ran->err.size()) {
      // Cut: not in the middle of a UTF-8 sequence (the reason is stored and shown as text;
      // the last whole character may go too).
      while (!err.empty() && (static_cast<unsigned char>(err.back()) & 0xC0) == 0x80)
        err.pop_back();
      if (!err.empty() && static_cast<unsigned char>(err.back()) >= 0xC0) err.pop_back();
    }
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    result->reason += "; then " + what + " exited " + std::to_string(ran->exit_code) +
                      (err.empty() ? "" : ": " + Tail(err));
  } else {
    result->ok = true;
    result->reason += "; then " + what + " exited 0";
  }
}

// Stores the outcome with the RP (gone meanwhile: nothing to do).
Status RecordDrill(rp::RepositoryParts* parts, const std::string& vm, uint64_t rp_id,
                   const DrillResult& r) {
  auto lock = parts->gate.LockForWrite();
  RPFS_ASSIGN_OR_RETURN(auto rec, parts->catalog.FindRpById(vm, rp_id));
  if (!rec) return Status::OK();
  rec->drill.time_us = r.time_us;
  rec->drill.ok = r.ok;
  rec->drill.reason = r.reason;
  rec->drill.boot_us = r.boot_us;
  store::Mutation m;
  m.Put(format::RpKey(vm, rec->id), format::EncodeRp(*rec));
  return parts->store->Commit(m);
}

}  // namespace

Status CheckNotDrillCloneName(const std::string& clone) {
  if (clone.rfind(kDrillClonePrefix, 0) != 0) return Status::OK();
  return Status::InvalidArgument("clone name " + clone + ": names starting with " +
                                 kDrillClonePrefix + " are kept for restore drills");
}

Result<size_t> Repository::CleanDrillLeftovers() {
  RPFS_ASSIGN_OR_RETURN(auto clones, ListClones(""));
  size_t removed = 0;
  for (const auto& c : clones) {
    if (c.name.rfind(kDrillClonePrefix, 0) != 0) continue;
    const std::string lock_path = LockPath(impl_->store->dir(), c.name);
    auto lock = LockFile::Acquire(lock_path, "drill " + c.name);
    if (!lock.ok()) continue;  // its drill is running
    // NotFound: its own drill, or another cleanup, removed it meanwhile.
    Status s = DeleteClone(c.vm, c.name);
    if (!s.ok() && !s.IsNotFound()) {
      return s.WithContext("removing clone ", c.vm, "/", c.name,
                           " left by a drill that did not finish");
    }
    std::error_code ec;
    std::filesystem::remove(lock_path, ec);
    ++removed;
  }
  return removed;
}

Result<DrillResult> Repository::Drill(const std::string& vm, const std::string& rp,
                                      const DrillOptions& opts) {
  auto step = [&](const std::string& what) {
    if (opts.on_step) opts.on_step(what);
  };
  const std::string label = "drill of " + vm + "/" + rp;
  RPFS_ASSIGN_OR_RETURN(auto vmrec, impl_->catalog.LoadVm(vm));
  RPFS_ASSIGN_OR_RETURN(auto rec, impl_->catalog.LoadRp(vm, rp));
  if (vmrec.kind != format::VmKind::kLibvirt || rec.domain_xml.empty()) {
    return Status::InvalidArgument(label + ": a drill boots the RP's libvirt domain, and " +
                                   (vmrec.kind != format::VmKind::kLibvirt
                                        ? "vm " + vm + " is made of image files"
                                        : "rp " + rp + " holds no domain definition"));
  }
  const bool has_agent = rec.domain_xml.find("org.qemu.guest_agent.0") != std::string::npos;
  // Waiting for an agent the guest was never given would fail every drill of it, slowly.
  if (!opts.exec.empty() && !has_agent) {
    return Status::InvalidArgument(label + ": --exec runs its command through the guest " +
                                   "agent, and the RP's domain has no guest agent channel");
  }
  if (opts.expect.empty() && !has_agent) {
    return Status::InvalidArgument(label + ": its domain has no guest agent channel, so " +
                                   "the agent cannot be the sign of life; give --expect TEXT " +
                                   "(a line the guest prints on its serial console)");
  }
  RPFS_ASSIGN_OR_RETURN(auto hv, impl_->domains.HypervisorFor(vmrec.libvirt_uri));
  RPFS_RETURN_IF_ERROR(CleanDrillLeftovers().status().WithContext(label));

  const std::string dir = DrillDir(impl_->store->dir());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "creating " + dir);
  }
  DrillResult result;
  result.time_us = NowMicros();
  result.clone = NewDrillCloneName();
  result.domain = result.clone;
  // The lock first: a clone of this name without a held lock is a leftover.
  RPFS_ASSIGN_OR_RETURN(LockFile lock,
                        LockFile::Acquire(LockPath(impl_->store->dir(), result.clone), label));
  auto drop_lock_file = [&] {
    std::error_code ec;
    std::filesystem::remove(LockPath(impl_->store->dir(), result.clone), ec);
  };
  auto work = rp::MakeWorkDir(impl_->store->dir());
  if (!work.ok()) {
    drop_lock_file();
    return work.status().WithContext(label);
  }
  const std::string console_file = **work + "/console.log";
  auto made = CreateClone(vm, rp, result.clone);
  if (!made.ok()) {
    drop_lock_file();
    return made.status().WithContext(label);
  }
  const CloneInfo clone = std::move(*made);
  step("cloned " + vm + "/" + rp + " as " + result.clone);
  std::string domain_uuid;
  // Whatever happens from here: the domain goes, then the clone, then the lock.
  auto cleanup = [&]() -> Status {
    if (!domain_uuid.empty()) {
      Status s = hv->Destroy(domain_uuid);
      if (!s.ok() && !s.IsNotFound()) return s.WithContext(label, ": destroying its domain");
    }
    // qemu's files close as it dies; the mount may see the last release a moment later.
    Status del;
    for (int i = 0; i < 50; ++i) {
      del = DeleteClone(vm, result.clone);
      if (!del.IsBusy()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!del.ok()) return del.WithContext(label, ": deleting its clone");
    drop_lock_file();
    step("destroyed the domain and deleted the clone");
    return Status::OK();
  };

  std::map<std::string, std::string> disk_paths;
  if (opts.disk_path) {
    for (const auto& d : clone.disks) disk_paths[d.name] = opts.disk_path(result.clone, d.name);
  } else {
    step("hydrating the clone (no mount to fill it on first read)");
    Status h = HydrateClone(vm, result.clone);
    if (!h.ok()) {
      (void)cleanup();
      return h.WithContext(label);
    }
    for (const auto& d : clone.disks) disk_paths[d.name] = d.path;
  }
  auto dom = hv->BootDrill(rec.domain_xml, result.domain, disk_paths, console_file);
  if (!dom.ok()) {
    // The RP's own definition does not start: the drill ran, and the RP failed it.
    result.reason = "the domain did not start: " + dom.status().message();
  } else {
    domain_uuid = dom->uuid;
    step("started domain " + result.domain + ", waiting up to " + std::to_string(opts.timeout_s) +
         " s for " + (opts.expect.empty() ? "its guest agent" : "\"" + opts.expect + "\""));
    AwaitSignOfLife(*hv, domain_uuid, console_file, opts, &result);
    if (result.ok && !opts.exec.empty()) {
      step("running `" + opts.exec + "` through the guest agent");
      RunDrillCommand(*hv, domain_uuid, opts, &result);
    }
    step(std::string(result.ok ? "ok: " : "failed: ") + result.reason);
  }
  result.console = Tail(ReadConsole(console_file));
  // The outcome first: a cleanup that fails (a clone still busy) must not lose it. What
  // cleanup leaves, the next drill or mount removes.
  Status recorded = RecordDrill(impl_.get(), vm, rec.id, result).WithContext(label);
  RPFS_RETURN_IF_ERROR(cleanup());
  RPFS_RETURN_IF_ERROR(recorded);
  return result;
}

}  // namespace rpfs
