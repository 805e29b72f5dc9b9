#include "torture/clone_child.h"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "rpfs/repository.h"
#include "torture/model.h"
#include "torture/pattern.h"

namespace rpfs::torture {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "rpfs_torture: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int WriteCloneMain(const std::vector<std::string>& args) {
  if (args.size() != 5) return 2;
  const uint64_t seed = std::stoull(args[3]);
  const uint64_t count = std::stoull(args[4]);
  auto repo = Repository::Open(args[0]);
  if (!repo.ok()) return Fail(repo.status());
  auto disk = (*repo)->OpenCloneDisk(args[1], args[2], "vda");
  if (!disk.ok()) return Fail(disk.status());
  const uint64_t blocks = ((*disk)->size() + kBlock - 1) / kBlock;
  std::mt19937_64 rng(seed);
  std::vector<std::byte> buf;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t off = rng() % blocks * kBlock;
    uint64_t len = std::min<uint64_t>((1 + rng() % 24) * kBlock, (*disk)->size() - off);
    std::printf("w %llu %llu %llu\n", static_cast<unsigned long long>(i),
                static_cast<unsigned long long>(off), static_cast<unsigned long long>(len));
    std::fflush(stdout);
    buf.resize(len);
    FillPattern(WriteSeed(seed, i), buf);
    auto n = (*disk)->WriteAt(off, buf);
    if (!n.ok()) return Fail(n.status());
    if (*n != len) return Fail(Status::IOError("short clone write"));
    if (rng() % 3 == 0 || i + 1 == count) {
      Status s = (*disk)->Flush();
      if (!s.ok()) return Fail(s);
      std::printf("a %llu\n", static_cast<unsigned long long>(i));
      std::fflush(stdout);
    }
  }
  return 0;
}

int ReadCloneMain(const std::vector<std::string>& args) {
  if (args.size() != 3) return 2;
  auto repo = Repository::Open(args[0]);
  if (!repo.ok()) return Fail(repo.status());
  auto disk = (*repo)->OpenCloneDisk(args[1], args[2], "vda");
  if (!disk.ok()) return Fail(disk.status());
  std::vector<std::byte> buf(1 << 20);
  for (uint64_t off = 0; off < (*disk)->size();) {
    auto n = (*disk)->ReadAt(off, buf);
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) return Fail(Status::IOError("clone disk ends early"));
    if (::write(1, buf.data(), *n) != static_cast<ssize_t>(*n)) {
      return Fail(Status::IOError("stdout"));
    }
    off += *n;
  }
  return 0;
}

}  // namespace rpfs::torture
