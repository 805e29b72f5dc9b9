// rpfs export VM RP DISK [-o FILE|DEVICE|-] [--force]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "image/qemu_locks.h"
#include "util/fd.h"

namespace rpfs::cli {
namespace {

class ExportVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_option("disk", disk_, "Disk name (e.g. vda)")->required();
    cmd->add_option("-o,--output", out_, "Output file (sparse), device, or - for stdout");
    cmd->add_flag("--force", force_,
                  "Replace an existing output file or overwrite a block device (never one a "
                  "qemu holds)");
  }

  int Run(const Context& ctx) override {
    const std::string out = out_ == "-" ? out_ : ctx.Path(out_);
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    if (out.empty() || out == "-") return ToStdout(ctx, **repo);
    return ToPath(ctx, **repo, out);
  }

 private:
  int ToStdout(const Context& ctx, Repository& repo) const {
    std::fflush(ctx.out);
    const int out_fd = ::fileno(ctx.out);
    if (::isatty(out_fd) == 1) {
      return ctx.Fail(Status::InvalidArgument(
          "refusing to write a disk image to a terminal; use -o FILE or a pipe"));
    }
    ProgressBar bar(ctx.err, Label());
    Status s = repo.Export(vm_, rp_, disk_, out_fd, /*sparse=*/false, bar.Callback());
    return s.ok() ? kExitOk : ctx.Fail(s);
  }

  // Regular files are written to a temporary name and renamed at the end, so a failed
  // export leaves nothing behind; devices are written in place. An existing file or block
  // device is replaced only with --force, and never while a qemu holds it (its OFD image
  // locks): it is opened without O_TRUNC and locked the way qemu locks its images until
  // the export is done, so nothing touches it before these checks and no qemu starts on it
  // meanwhile. Without --force the final rename never replaces a file made meanwhile.
  int ToPath(const Context& ctx, Repository& repo, const std::string& out) const {
    struct stat st;
    const bool exists = ::stat(out.c_str(), &st) == 0;
    const bool is_device = exists && !S_ISREG(st.st_mode);
    const bool replaces = exists && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
    UniqueFd held;  // the existing output, locked while we replace it
    if (replaces) {
      auto guard = GuardExisting(out);
      if (!guard.ok()) return ctx.Fail(guard.status());
      held = std::move(*guard);
    }
    std::string target = is_device ? out : out + ".rpfs-partial";
    int fd = ::open(target.c_str(),
                    is_device ? O_WRONLY : (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC), 0644);
    if (fd < 0) return ctx.Fail(Status::FromErrno(errno, "cannot create " + target));
    ProgressBar bar(ctx.err, Label());
    Status s = repo.Export(vm_, rp_, disk_, fd, /*sparse=*/!is_device, bar.Callback());
    bar.Finish();
    // A character device or a FIFO (/dev/null, a pipe) keeps nothing to make durable and
    // answers fsync with EINVAL: not a failed export.
    const bool durable = !is_device || S_ISBLK(st.st_mode);
    if (s.ok() && durable && ::fsync(fd) != 0) s = Status::FromErrno(errno, "fsync " + target);
    ::close(fd);
    if (s.ok() && !is_device) s = Publish(target, out);
    if (!s.ok()) {
      if (!is_device) ::unlink(target.c_str());
      return ctx.Fail(s);
    }
    // Silent as cp is, unless asked.
    if (ctx.json) {
      ctx.PrintJson({{"vm", JsonText(vm_)},
                     {"rp", JsonText(rp_)},
                     {"disk", JsonText(disk_)},
                     {"output", JsonText(out)}});
    }
    return kExitOk;
  }

  // The existing output `out`, opened (never truncated) and locked as qemu locks an image
  // it writes. AlreadyExists without --force; Busy, naming the lock, while a qemu holds it.
  Result<UniqueFd> GuardExisting(const std::string& out) const {
    if (!force_) {
      return Status::AlreadyExists("output " + out + " already exists; use --force to replace it");
    }
    RPFS_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(out, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    const std::string label = "output " + out;
    RPFS_RETURN_IF_ERROR(image::TakeQemuWriterLocks(fd.get(), label));
    RPFS_ASSIGN_OR_RETURN(auto held, image::QemuLockOfOthers(fd.get()));
    if (held) {
      return Status::Busy(label + " is in use by another process (it holds " +
                          image::DescribeQemuLock(*held) +
                          "): not replaced, even with --force; stop it first");
    }
    return fd;
  }

  // Moves the finished export to `out`; without --force only if `out` is still free.
  Status Publish(const std::string& target, const std::string& out) const {
    if (::renameat2(AT_FDCWD, target.c_str(), AT_FDCWD, out.c_str(),
                    force_ ? 0 : RENAME_NOREPLACE) == 0) {
      return Status::OK();
    }
    if (errno == EEXIST) {
      return Status::AlreadyExists("output " + out +
                                   " appeared during the export; use --force to replace it");
    }
    return Status::FromErrno(errno, "rename " + target + " to " + out);
  }

  std::string Label() const { return "export " + vm_ + "/" + rp_ + " " + disk_; }

  std::string vm_;
  std::string rp_;
  std::string disk_;
  std::string out_;
  bool force_ = false;
};

}  // namespace

std::unique_ptr<CliVerb> NewExportVerb() { return std::make_unique<ExportVerb>(); }

}  // namespace rpfs::cli
