// rpfs cat VM RP PATH  and  rpfs cp VM RP PATH DEST [--force]: a guest file of an RP without
// FUSE. PATH is what the mount shows under <vm>/<rp>/files/ ("vda1/etc/nginx.conf"); the
// same fs layer and the same sandboxed helper do the work, in this process.
// rpfs diff VM RP-A RP-B [--json]: the guest files that differ between two RPs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/json_text.h"
#include "fs/filesystem.h"
#include "fs/guest_diff.h"
#include "fs/names.h"
#include "guest/helper_client.h"
#include "util/fd.h"

namespace rpfs::cli {
namespace {

// Copies guest file `path` of RP `rp` to `fd`.
Status CopyGuestFile(Repository& repo, const std::string& vm, const std::string& rp,
                     const std::string& path, int fd) {
  fs::Filesystem files(&repo, fs::MountAccess::OfThisProcess(), guest::StartSelfHelper);
  std::vector<std::string> parts{vm, rp, fs::kFilesDir};
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() == 3)
    return Status::InvalidArgument("no guest path given (e.g. vda1/etc/hosts)");
  fs::InodeNo ino = fs::kRootInode;
  std::string shown;
  fs::Attr attr;
  for (const auto& p : parts) {
    shown += (shown.empty() ? "" : "/") + p;
    auto a = files.Lookup(ino, p);
    if (!a.ok()) return a.status().WithContext(shown);
    attr = *a;
    ino = a->ino;
    if (S_ISLNK(attr.mode) && &p != &parts.back()) {
      auto target = files.ReadLink(ino);
      return Status::NotSupported(shown + " is a symbolic link" +
                                  (target.ok() ? " to " + *target : std::string()) +
                                  ": give the path it points to");
    }
  }
  if (S_ISDIR(attr.mode)) return Status::IsADirectory(shown + " is a directory");
  if (S_ISLNK(attr.mode)) {
    auto target = files.ReadLink(ino);
    return Status::NotSupported(shown + " is a symbolic link" +
                                (target.ok() ? " to " + *target : std::string()));
  }
  RPFS_ASSIGN_OR_RETURN(fs::HandleId h, files.Open(ino, O_RDONLY));
  std::vector<std::byte> buf(1 << 20);
  uint64_t off = 0;
  Status s;
  for (;;) {
    auto n = files.Read(h, off, buf);
    if (!n.ok()) {
      s = n.status().WithContext(shown);
      break;
    }
    if (*n == 0) break;
    s = WriteFull(fd, std::span<const std::byte>(buf.data(), *n), "the output");
    if (!s.ok()) break;
    off += *n;
  }
  files.Release(h);
  return s;
}

class CatVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_option("path", path_, "Guest path as under files/, e.g. vda1/etc/hosts")->required();
  }
  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    std::fflush(ctx.out);
    Status s = CopyGuestFile(**repo, vm_, rp_, path_, ::fileno(ctx.out));
    return s.ok() ? kExitOk : ctx.Fail(s);
  }

 private:
  std::string vm_, rp_, path_;
};

class CpVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("rp", rp_, "Recovery point")->required();
    cmd->add_option("path", path_, "Guest path as under files/, e.g. vda1/etc/hosts")->required();
    cmd->add_option("dest", dest_, "Destination file or directory")->required();
    cmd->add_flag("--force", force_, "Replace an existing destination file");
  }
  // Written to a temporary name and renamed at the end: a failed copy leaves nothing.
  int Run(const Context& ctx) override {
    std::string dest = ctx.Path(dest_);
    struct stat st;
    if (::stat(dest.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      dest += "/" + path_.substr(path_.find_last_of('/') + 1);
    }
    if (!force_ && ::access(dest.c_str(), F_OK) == 0) {
      return ctx.Fail(Status::AlreadyExists(dest + " exists; use --force to replace it"));
    }
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    std::string tmp = dest + ".rpfs-tmp";
    auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (!fd.ok()) return ctx.Fail(fd.status());
    Status s = CopyGuestFile(**repo, vm_, rp_, path_, fd->get());
    if (s.ok() && ::fsync(fd->get()) != 0) s = Status::FromErrno(errno, "fsync " + tmp);
    if (s.ok() && ::rename(tmp.c_str(), dest.c_str()) != 0) {
      s = Status::FromErrno(errno, "renaming to " + dest);
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return ctx.Fail(s);
    }
    if (ctx.json) {  // silent as cp(1) is, unless asked
      ctx.PrintJson({{"vm", JsonText(vm_)},
                     {"rp", JsonText(rp_)},
                     {"path", JsonText(path_)},
                     {"dest", JsonText(dest)}});
    }
    return kExitOk;
  }

 private:
  std::string vm_, rp_, path_, dest_;
  bool force_ = false;
};

// Exit 1 when a volume could not be compared (the rest is still printed).
class DiffVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context& ctx) override {
    cmd->add_option("vm", vm_, "VM name")->required();
    cmd->add_option("from", from_, "The older recovery point")->required();
    cmd->add_option("to", to_, "The newer recovery point")->required();
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }
  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto from = (*repo)->GetRp(vm_, from_);
    if (!from.ok()) return ctx.Fail(from.status());
    auto to = (*repo)->GetRp(vm_, to_);
    if (!to.ok()) return ctx.Fail(to.status());
    fs::GuestVolumes volumes(repo->get(), guest::StartSelfHelper);
    auto diff = fs::DiffGuestFiles(volumes, vm_, from->id, to->id);
    if (!diff.ok()) return ctx.Fail(diff.status());
    if (ctx.json) {
      nlohmann::json changes = nlohmann::json::array();
      for (const auto& c : diff->changes) {
        changes.push_back({{"change", fs::ChangeKindName(c.kind)},
                           {"path", JsonText(c.path)},
                           {"type", TypeName(c.type)},
                           {"what", c.what}});
      }
      ctx.PrintJson({{"from", JsonText(from_)},
                     {"to", JsonText(to_)},
                     {"changes", changes},
                     {"errors", JsonTexts(diff->errors)},
                     {"disk_bytes_read", volumes.bytes_read()}});
    } else {
      std::fputs(fs::FormatGuestDiff(*diff).c_str(), ctx.out);
    }
    if (diff->errors.empty()) return kExitOk;
    return ctx.Fail(Status::IOError(std::to_string(diff->errors.size()) +
                                    " volume(s) could not be compared: " + diff->errors.front()));
  }

 private:
  static const char* TypeName(uint32_t type) {
    if (S_ISDIR(type)) return "dir";
    if (S_ISREG(type)) return "file";
    if (S_ISLNK(type)) return "symlink";
    return "other";
  }
  std::string vm_, from_, to_;
};

}  // namespace

std::unique_ptr<CliVerb> NewDiffVerb() { return std::make_unique<DiffVerb>(); }
std::unique_ptr<CliVerb> NewCatVerb() { return std::make_unique<CatVerb>(); }
std::unique_ptr<CliVerb> NewCpVerb() { return std::make_unique<CpVerb>(); }

}  // namespace rpfs::cli
