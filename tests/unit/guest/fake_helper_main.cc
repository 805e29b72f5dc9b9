// rpfs_guest_fake_helper: a guest helper for tests. It runs the real ServeHelper inside the
// real sandbox, over an in-memory GuestFs whose file bytes come from the volume through
// ByteSource::ReadAt (so every read crosses the socket as VolumeRead/VolumeData), and it can
// misbehave on one call, chosen by argv:
//   --misbehave=<what>:<op>   what: crash | hang | open-file | exit-mid-reply | garbage
//                             op: getattr, lookup, readdir, readlink, mapfile, read, listxattrs
//   --misbehave=other-files:mapfiles   a MapFiles answer for files that were not asked for
//   --misbehave=no-limit:mapfiles      a MapFiles answer with more extents than asked for
//   --no-sandbox              skip EnterSandbox (the control case of the sandbox tests)
//
// The tree: root (2) holds hello.txt (12: volume bytes [0, 5)), big (13: the whole volume),
// link (14 -> hello.txt), sub (15, empty) and an entry whose name has odd bytes (16).
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "guest/helper_process.h"
#include "guest/helper_protocol.h"
#include "guest/helper_server.h"
#include "guest/sandbox.h"

namespace rpfs::guest {
namespace {

struct Misbehaviour {
  std::string what;
  std::string op;
};

const std::string kOddName = std::string("odd \x01\xff\t\\name", 11);

void WriteRaw(const std::string& bytes) {
  if (::write(kHelperSocketFd, bytes.data(), bytes.size()) < 0) std::_Exit(3);
}

class FakeFs final : public GuestFs {
 public:
  FakeFs(SourcePtr volume, Misbehaviour m, std::string state)
      : volume_(std::move(volume)), misbehave_(std::move(m)), state_(std::move(state)) {}

  uint64_t RootIno() const override { return 2; }
  std::string State() const override { return state_; }

  Result<FileAttr> GetAttr(uint64_t ino) override {
    Act("getattr");
    return Attr(ino);
  }
  Result<FileAttr> Lookup(uint64_t dir, const std::string& name) override {
    Act("lookup");
    if (dir != 2 && dir != 15) return Status::NotADirectory("fake: inode " + std::to_string(dir));
    for (const DirEntry& e : Entries(dir)) {
      if (e.name == name) return Attr(e.ino);
    }
    return Status::NotFound("fake: no entry " + name + " in " + std::to_string(dir));
  }
  Result<std::vector<DirEntry>> ReadDir(uint64_t dir) override {
    Act("readdir");
    if (dir != 2 && dir != 15) return Status::NotADirectory("fake: inode " + std::to_string(dir));
    return Entries(dir);
  }
  Result<std::string> ReadLink(uint64_t ino) override {
    Act("readlink");
    if (ino != 14)
      return Status::InvalidArgument("fake: inode " + std::to_string(ino) + " is not a symlink");
    return std::string("hello.txt");
  }
  Result<std::vector<FileExtent>> MapFile(uint64_t ino) override {
    Act("mapfile");
    if (ino == 12) return std::vector<FileExtent>{{0, 5, FileExtent::Kind::kVolume, 0}};
    if (ino != 13)
      return Status::InvalidArgument("fake: inode " + std::to_string(ino) + " is not a file");
    return std::vector<FileExtent>{{0, 4096, FileExtent::Kind::kVolume, 0},
                                   {4096, 4096, FileExtent::Kind::kZero, 0},
                                   {8192, volume_->size() - 8192, FileExtent::Kind::kInline, 0}};
  }
  std::vector<FileMap> MapFiles(const std::vector<uint64_t>& inos, uint64_t max_extents) override {
    if (misbehave_.what == "other-files" && misbehave_.op == "mapfiles") {
      return {{inos.front() + 1, Status::OK(), {{0, 5, FileExtent::Kind::kVolume, 0}}}};
    }
    if (misbehave_.what == "no-limit" && misbehave_.op == "mapfiles") {
      return GuestFs::MapFiles(inos, UINT64_MAX);
    }
    return GuestFs::MapFiles(inos, max_extents);
  }
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) override {
    Act("read");
    uint64_t size = ino == 12 ? 5 : ino == 13 ? volume_->size() : 0;
    if (size == 0)
      return Status::InvalidArgument("fake: inode " + std::to_string(ino) + " is not a file");
    if (offset >= size) return size_t{0};
    size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), size - offset));
    RPFS_RETURN_IF_ERROR(volume_->ReadAt(offset, out.first(n)));
    return n;
  }
  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) override {
    Act("listxattrs");
    if (ino != 12) return std::vector<std::pair<std::string, std::string>>{};
    return std::vector<std::pair<std::string, std::string>>{
        {"user.a", "1"}, {"security.selinux", std::string("x\0y", 3)}};
  }

 private:
  Result<FileAttr> Attr(uint64_t ino) {
    FileAttr a;
    a.ino = ino;
    a.uid = 1000;
    a.gid = 100;
    a.mtime_ns = -1'500'000'000;  // before the epoch: signed times cross the wire
    a.atime_ns = 1'700'000'000'123'456'789;
    switch (ino) {
      case 2:
      case 15:
        a.mode = S_IFDIR | 0755;
        a.nlink = 2;
        break;
      case 12:
        a.mode = S_IFREG | 0644;
        a.size = 5;
        break;
      case 13:
        a.mode = S_IFREG | 0600;
        a.size = volume_->size();
        break;
      case 14:
        a.mode = S_IFLNK | 0777;
        a.size = 9;
        break;
      case 16:
        a.mode = S_IFCHR | 0620;
        a.rdev = makedev(4, 1);
        break;
      default:
        return Status::NotFound("fake: no inode " + std::to_string(ino));
    }
    return a;
  }
  std::vector<DirEntry> Entries(uint64_t dir) {
    if (dir == 15) return {};
    return {{"hello.txt", 12, S_IFREG, std::nullopt},
            {"big", 13, S_IFREG, std::nullopt},
            {"link", 14, S_IFLNK, std::nullopt},
            {"sub", 15, S_IFDIR, std::nullopt},
            {kOddName, 16, 0, std::nullopt}};
  }

  // The misbehaviours, on the call that argv names.
  void Act(const std::string& op) {
    if (op != misbehave_.op) return;
    const std::string& what = misbehave_.what;
    if (what == "crash") std::abort();
    if (what == "hang") {
      // A futex wait nobody wakes: allowed by seccomp, so only the daemon's deadline ends it.
      static int word = 0;
      for (;;) ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0);
    }
    if (what == "open-file") {
      int fd = ::open("/etc/passwd", O_RDONLY | O_CLOEXEC);  // seccomp kills us here
      if (fd >= 0) ::close(fd);
    }
    if (what == "exit-mid-reply") {
      WriteRaw(std::string("\x64\0\0\0\x04\0", 6));  // a 100-byte frame, 2 bytes of it
      std::_Exit(0);
    }
    if (what == "garbage") WriteRaw(std::string("\x03\0\0\0\x7f\x01\x02", 7));
  }

  SourcePtr volume_;
  Misbehaviour misbehave_;
  std::string state_;
};

// Opens only ext4. Reads the whole volume once (one ReadAt, split into VolumeReads of at
// most 4 MiB by the server) and reports its size and byte sum in the state.
Result<std::unique_ptr<GuestFs>> OpenFake(const Misbehaviour& m, FsType type, SourcePtr volume) {
  if (type != FsType::kExt4)
    return Status::NotSupported("fake: only ext4, not " + std::string(FsTypeName(type)));
  std::string bytes(volume->size(), '\0');
  RPFS_RETURN_IF_ERROR(volume->ReadAt(0, std::as_writable_bytes(std::span(bytes))));
  uint64_t sum = 0;
  for (char c : bytes) sum += static_cast<uint8_t>(c);
  std::string state = "ok (" + volume->name() + ", " + std::to_string(bytes.size()) +
                      " bytes, sum " + std::to_string(sum) + ")";
  return std::unique_ptr<GuestFs>(new FakeFs(std::move(volume), m, std::move(state)));
}

}  // namespace
}  // namespace rpfs::guest

int main(int argc, char** argv) {
  using namespace rpfs::guest;
  Misbehaviour m;
  bool sandbox = true;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--no-sandbox") {
      sandbox = false;
    } else if (arg.rfind("--misbehave=", 0) == 0) {
      std::string spec = arg.substr(12);
      size_t colon = spec.find(':');
      m.what = spec.substr(0, colon);
      m.op = colon == std::string::npos ? "" : spec.substr(colon + 1);
    }
  }
  if (sandbox) {
    rpfs::Status s = EnterSandbox(kHelperSocketFd);
    if (!s.ok()) {
      std::fprintf(stderr, "fake helper: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  int rc = ServeHelper(kHelperSocketFd, [&m](FsType type, SourcePtr volume) {
    return OpenFake(m, type, std::move(volume));
  });
  std::_Exit(rc);  // no atexit work (sanitizer leak checks) inside the sandbox
}
