// rpfs export VM RP DISK [-o FILE|DEVICE|-]
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "cli/command.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

class ExportVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_option("disk", disk_, "Disk name (e.g. vda)")->required();
    cmd->add_option("-o,--output", out_, "Output file (sparse), device, or - for stdout");
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
  // export leaves nothing behind; devices are written in place.
  int ToPath(const Context& ctx, Repository& repo, const std::string& out) const {
    struct stat st;
    bool is_device = ::stat(out.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    std::string target = is_device ? out : out + ".rpfs-partial";
    int fd = ::open(target.c_str(),
                    is_device ? O_WRONLY : (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC), 0644);
    if (fd < 0) return ctx.Fail(Status::FromErrno(errno, "cannot create " + target));
    ProgressBar bar(ctx.err, Label());
    Status s = repo.Export(vm_, rp_, disk_, fd, /*sparse=*/!is_device, bar.Callback());
    bar.Finish();
    if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno(errno, "fsync " + target);
    ::close(fd);
    if (s.ok() && !is_device && ::rename(target.c_str(), out.c_str()) != 0) {
      s = Status::FromErrno(errno, "rename " + target + " to " + out);
    }
    if (!s.ok()) {
      if (!is_device) ::unlink(target.c_str());
      return ctx.Fail(s);
    }
    return kExitOk;
  }

  std::string Label() const { return "export " + vm_ + "/" + rp_ + " " + disk_; }

  std::string vm_;
  std::string rp_;
  std::string disk_;
  std::string out_;
};

}  // namespace

std::unique_ptr<CliVerb> NewExportVerb() { return std::make_unique<ExportVerb>(); }

}  // namespace rpfs::cli
