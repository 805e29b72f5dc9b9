// The guest's files under <rp>/files (fs/nodes_guest.cc) in-process, with filesystems opened
// by the real sandboxed helper (`rpfs __guest-helper`): names, the volume table, contents,
// links, modes no wider than the disk, xattrs, inode numbers unique across RPs, a volume
// that does not open. Needs sfdisk and mke2fs, not root. The e2e test compares with a
// kernel mount.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "fs/filesystem.h"
#include "fs/guest_diff.h"
#include "guest/helper_client.h"
#include "guestfs/open.h"
#include "repo_fixture.h"
#include "support/run.h"
#include "support/status_matchers.h"

namespace rpfs::testing {
namespace {

constexpr uint64_t kPart1 = 2048 * 512;   // ext4, 20 MiB
constexpr uint64_t kPart2 = 43008 * 512;  // ext4 whose superblock the test damages

bool Have(const char* tool) {
  return RunCommand({"sh", "-c", std::string("command -v ") + tool}).exit_code == 0;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class GuestFilesTest : public RepoTest {
 protected:
  void SetUp() override {
    if (!Have("sfdisk") || !Have("mke2fs")) GTEST_SKIP() << "needs sfdisk and mke2fs";
    RepoTest::SetUp();
    std::string src = Path("src");
    ASSERT_EQ(RunCommand({"mkdir", "-p", src + "/etc", src + "/d/e/f", src + "/private"}).exit_code,
              0);
    WriteFile(src + "/etc/nginx.conf", "server { listen 80; }\n");
    WriteFile(src + "/etc/hosts", "127.0.0.1 localhost\n");
    WriteFile(src + "/etc/empty", "");
    {
      // 100 blocks of data with a hole after each: 200 extents, more than a batch maps.
      std::ofstream sparse(src + "/etc/sparse", std::ios::binary);
      for (int k = 0; k < 100; ++k) {
        sparse.seekp(k * 8192);
        sparse << std::string(4096, static_cast<char>('a' + k % 26));
      }
      sparse.seekp(100 * 8192 - 1);
      sparse.put('\n');
    }
    big_ = std::string(1 << 20, '\0');
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>((i * 7919) >> 3);
    WriteFile(src + "/d/big", big_);
    WriteFile(src + "/private/secret", "hunter2\n");
    ::chmod((src + "/private/secret").c_str(), 0600);
    ::chmod((src + "/etc/nginx.conf").c_str(), 0644);
    ::chmod((src + "/private").c_str(), 0700);
    ASSERT_EQ(::symlink("../etc/nginx.conf", (src + "/d/link").c_str()), 0);
    img_ = Path("disk.img");
    auto sh = [](const std::string& cmd) { return RunCommand({"sh", "-c", cmd}); };
    ASSERT_EQ(sh("truncate -s 48M " + img_ +
                 " && printf 'label: gpt\\nstart=2048, size=40960, "
                 "type=L\\nstart=43008, size=40960, type=L\\n' | sfdisk -q " +
                 img_)
                  .exit_code,
              0);
    for (uint64_t off : {kPart1, kPart2}) {
      auto r = sh("mke2fs -q -F -t ext4 -E offset=" + std::to_string(off) + " -d " + src + " " +
                  img_ + " 20M");
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    // Partition 2: a superblock that still says ext4 but counts no blocks.
    WriteAt(img_, kPart2 + 1024 + 4, std::vector<std::byte>(4));
    ::chmod(img_.c_str(), 0640);
    ASSERT_OK(repo_->AddVm("vm", {{"vda", img_, std::nullopt}}));
    ASSERT_OK(repo_->CreateRp("vm", "rp", {}));
    ASSERT_OK(repo_->CreateRp("vm", "rp2", {}));
    fs::GuestOpener helper = [](guest::FsType type, guest::SourcePtr volume) {
      guest::HelperOptions o{{RpfsBinary(), "__guest-helper"}, std::chrono::seconds(30)};
      return guest::StartGuestHelper(std::move(o), type, std::move(volume));
    };
    fs_ = std::make_unique<fs::Filesystem>(repo_.get(), fs::MountAccess::OfThisProcess(), helper);
  }
  fs::Attr Look(fs::InodeNo parent, const std::string& name) {
    auto a = fs_->Lookup(parent, name);
    EXPECT_OK(a) << name;
    return a.ok() ? *a : fs::Attr{};
  }
  fs::Attr Walk(const std::string& rp, const std::vector<std::string>& path) {
    fs::Attr a = Look(Look(Look(fs::kRootInode, "vm").ino, rp).ino, "files");
    for (const auto& p : path) a = Look(a.ino, p);
    return a;
  }
  std::string ReadWhole(fs::InodeNo ino, size_t piece = 4096) {
    auto h = fs_->Open(ino, O_RDONLY);
    EXPECT_OK(h);
    if (!h.ok()) return "";
    std::string out;
    std::vector<std::byte> buf(piece);
    for (;;) {
      auto n = fs_->Read(*h, out.size(), buf);
      EXPECT_OK(n);
      if (!n.ok() || *n == 0) break;
      out.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    fs_->Release(*h);
    return out;
  }
  std::string img_;
  std::string big_;
  std::unique_ptr<fs::Filesystem> fs_;
};

TEST_F(GuestFilesTest, ListsVolumesAndTheirTable) {
  fs::Attr files = Walk("rp", {});
  EXPECT_TRUE(S_ISDIR(files.mode));
  auto h = fs_->OpenDir(files.ino);
  ASSERT_OK(h);
  auto listing = fs_->Listing(*h);
  ASSERT_OK(listing);
  std::vector<std::string> names;
  for (const auto& e : **listing) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{".volumes", ".diff-from", "vda1.raw", "vda1",
                                             "vda2.raw", "vda2"}));
  fs_->Release(*h);
  std::string table = ReadWhole(Look(files.ino, ".volumes").ino);
  EXPECT_NE(table.find("name\tdisk\ttable\tindex\tstart\tsize\ttype\tfs\tlabel\tuuid\tstate\n"),
            std::string::npos);
  EXPECT_NE(table.find("vda1\tvda\tgpt\t1\t1048576\t20971520\t"), std::string::npos) << table;
  EXPECT_NE(table.find("\text4\t"), std::string::npos);
  EXPECT_NE(table.find("\tok\n"), std::string::npos) << table;
  EXPECT_NE(table.find("vda2\tvda\tgpt\t2\t22020096\t"), std::string::npos) << table;
  EXPECT_NE(table.find("\terror: "), std::string::npos) << table;  // vda2 does not open
  // The raw slice is the partition's bytes.
  fs::Attr raw = Look(files.ino, "vda1.raw");
  EXPECT_EQ(raw.size, 20u << 20);
  std::string slice = ReadWhole(raw.ino, 1 << 20);
  auto whole = ReadAll(img_);
  ASSERT_EQ(slice.size(), 20u << 20);
  EXPECT_TRUE(
      std::equal(slice.begin(), slice.end(), reinterpret_cast<const char*>(whole.data()) + kPart1));
}

TEST_F(GuestFilesTest, ReadsFilesLinksAndAttributes) {
  fs::Attr conf = Walk("rp", {"vda1", "etc", "nginx.conf"});
  EXPECT_TRUE(S_ISREG(conf.mode));
  EXPECT_EQ(conf.size, 22u);
  EXPECT_TRUE(conf.immutable);
  EXPECT_EQ(ReadWhole(conf.ino), "server { listen 80; }\n");
  // Odd-sized reads across the whole 1 MiB file (served from its extents).
  fs::Attr big = Walk("rp", {"vda1", "d", "big"});
  EXPECT_EQ(ReadWhole(big.ino, 70001), big_);
  fs::Attr link = Walk("rp", {"vda1", "d", "link"});
  EXPECT_TRUE(S_ISLNK(link.mode));
  auto target = fs_->ReadLink(link.ino);
  ASSERT_OK(target);
  EXPECT_EQ(*target, "../etc/nginx.conf");
  EXPECT_EQ(fs::ToErrno(fs_->ReadLink(conf.ino).status()), EINVAL);
  // Modes: the disk file is 0640, so the group class may read what the guest lets its group
  // read, others nothing; the owner always reads.
  EXPECT_EQ(conf.mode & 07777, 0440u);
  fs::Attr secret = Walk("rp", {"vda1", "private", "secret"});
  EXPECT_EQ(secret.mode & 07777, 0400u);
  fs::Attr priv = Walk("rp", {"vda1", "private"});
  EXPECT_EQ(priv.mode & 07777, 0500u);
  auto mode = fs_->GetXattr(secret.ino, "user.rpfs.guest_mode");
  ASSERT_OK(mode);
  EXPECT_EQ(*mode, "100600");
  auto names = fs_->ListXattrs(secret.ino);
  ASSERT_OK(names);
  EXPECT_EQ(names->size(), 5u);
  EXPECT_EQ(fs::ToErrno(fs_->GetXattr(secret.ino, "user.nope").status()), ENODATA);
  // Other namespaces are unsupported (so `ls -l` stops asking), not merely absent.
  EXPECT_EQ(fs::ToErrno(fs_->GetXattr(secret.ino, "security.selinux").status()), EOPNOTSUPP);
  EXPECT_EQ(fs::ToErrno(fs_->GetXattr(secret.ino, "system.posix_acl_access").status()), EOPNOTSUPP);
  EXPECT_EQ(fs::ToErrno(fs_->Open(conf.ino, O_WRONLY).status()), EROFS);
  EXPECT_EQ(fs::ToErrno(fs_->Lookup(Walk("rp", {"vda1"}).ino, "nope").status()), ENOENT);
}

TEST_F(GuestFilesTest, InodesAreUniqueAcrossRecoveryPoints) {
  fs::Attr a = Walk("rp", {"vda1", "etc", "nginx.conf"});
  fs::Attr b = Walk("rp2", {"vda1", "etc", "nginx.conf"});
  EXPECT_NE(a.ino, b.ino);  // same guest inode, different RPs
  auto ga = fs_->GetXattr(a.ino, "user.rpfs.guest_ino");
  auto gb = fs_->GetXattr(b.ino, "user.rpfs.guest_ino");
  ASSERT_OK(ga);
  ASSERT_OK(gb);
  EXPECT_EQ(*ga, *gb);
  EXPECT_EQ(Walk("rp", {"vda1", "etc", "nginx.conf"}).ino, a.ino);  // and stable
}

TEST_F(GuestFilesTest, AVolumeThatDoesNotOpenIsEioAndTheRestWorks) {
  fs::Attr vda2 = Walk("rp", {"vda2"});
  auto child = fs_->Lookup(vda2.ino, "etc");
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(fs::ToErrno(child.status()), EIO) << child.status().ToString();
  EXPECT_NE(child.status().message().find("vda2"), std::string::npos);
  EXPECT_EQ(fs::ToErrno(fs_->ReadDir(vda2.ino).status()), EIO);
  EXPECT_EQ(ReadWhole(Walk("rp", {"vda1", "etc", "nginx.conf"}).ino), "server { listen 80; }\n");
}

// Counts the calls that reach a guest filesystem (each one a helper round trip).
class CountingFs final : public guest::GuestFs {
 public:
  // With `poison`, mapping that file fails as a helper that dies over it does: a batch that
  // holds it is one IOError.
  CountingFs(std::unique_ptr<guest::GuestFs> inner, std::atomic<int>* calls,
             const std::atomic<uint64_t>* poison = nullptr)
      : inner_(std::move(inner)), calls_(calls), poison_(poison) {}
  uint64_t RootIno() const override { return inner_->RootIno(); }
  std::string State() const override { return inner_->State(); }
  Result<guest::FileAttr> GetAttr(uint64_t ino) override { return Count(), inner_->GetAttr(ino); }
  Result<guest::FileAttr> Lookup(uint64_t dir, const std::string& name) override {
    return Count(), inner_->Lookup(dir, name);
  }
  Result<std::vector<guest::DirEntry>> ReadDir(uint64_t dir) override {
    return Count(), inner_->ReadDir(dir);
  }
  // One call however many directories (the helper's is one round trip).
  std::vector<guest::DirListing> ReadDirs(const std::vector<uint64_t>& dirs) override {
    return Count(), inner_->ReadDirs(dirs);
  }
  Result<std::string> ReadLink(uint64_t ino) override { return Count(), inner_->ReadLink(ino); }
  Result<std::vector<guest::FileExtent>> MapFile(uint64_t ino) override {
    Count();
    if (Poisoned(ino)) return Died();
    return inner_->MapFile(ino);
  }
  // One call however many files (the helper's is one round trip).
  std::vector<guest::FileMap> MapFiles(const std::vector<uint64_t>& inos,
                                       uint64_t max_extents) override {
    Count();
    for (uint64_t ino : inos) {
      if (Poisoned(ino)) return {{inos.front(), Died(), {}}};
    }
    return inner_->MapFiles(inos, max_extents);
  }
  Result<size_t> Read(uint64_t ino, uint64_t offset, std::span<std::byte> out) override {
    return Count(), inner_->Read(ino, offset, out);
  }
  Result<std::vector<std::pair<std::string, std::string>>> ListXattrs(uint64_t ino) override {
    return Count(), inner_->ListXattrs(ino);
  }

 private:
  void Count() { ++*calls_; }
  bool Poisoned(uint64_t ino) const {
    return poison_ != nullptr && *poison_ != 0 && ino == *poison_;
  }
  static Status Died() {
    return Status::IOError("guest helper for vda1 died (killed by signal 6)");
  }
  std::unique_ptr<guest::GuestFs> inner_;
  std::atomic<int>* calls_;
  const std::atomic<uint64_t>* poison_;
};

// Volumes opened by the real helper, every call of theirs counted in `*calls`, mapping
// `*poison` (when set) failing.
fs::GuestOpener CountingHelper(std::atomic<int>* calls,
                               const std::atomic<uint64_t>* poison = nullptr) {
  return [calls, poison](guest::FsType type,
                         guest::SourcePtr volume) -> Result<std::unique_ptr<guest::GuestFs>> {
    guest::HelperOptions o{{RpfsBinary(), "__guest-helper"}, std::chrono::seconds(30)};
    RPFS_ASSIGN_OR_RETURN(auto fs, guest::StartGuestHelper(std::move(o), type, std::move(volume)));
    return std::unique_ptr<guest::GuestFs>(
        std::make_unique<CountingFs>(std::move(fs), calls, poison));
  };
}

uint64_t RootOf(fs::OpenVolume& vol) {
  std::lock_guard lock(vol.mu);
  return vol.fs->RootIno();
}

uint64_t ChildIno(const fs::OpenVolume::Listing& listing, const std::string& name) {
  for (const auto& [n, attr] : listing) {
    if (n == name) return attr.ino;
  }
  ADD_FAILURE() << "no " << name;
  return 0;
}

// A listing is one helper call; after it, the kernel's lookup, getattr and getxattr of each
// entry are answered without another (the volume never changes); a name never listed still is
// asked.
TEST_F(GuestFilesTest, AListedDirectoryAnswersLookupsWithoutTheHelper) {
  static std::atomic<int> calls{0};
  fs_ = std::make_unique<fs::Filesystem>(repo_.get(), fs::MountAccess::OfThisProcess(),
                                         CountingHelper(&calls));
  fs::Attr etc = Walk("rp", {"vda1", "etc"});
  calls = 0;
  ASSERT_OK(fs_->ReadDir(etc.ino));
  EXPECT_EQ(calls, 1);  // the listing carries every entry's attributes
  calls = 0;
  auto conf = fs_->Lookup(etc.ino, "nginx.conf");
  ASSERT_OK(conf);
  ASSERT_OK(fs_->GetAttr(conf->ino));
  ASSERT_OK(fs_->ListXattrs(conf->ino));
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(fs_->Lookup(etc.ino, "nope").ok());
  EXPECT_EQ(calls, 1);
}

// Opening a file of a listed directory maps the regular files beside it in the same helper
// call, and opening those then asks the helper nothing. An empty file is not asked for; a
// file of more extents than a batch keeps is mapped when it is opened, on its own.
TEST_F(GuestFilesTest, OpeningAFileMapsTheFilesBesideItInTheSameCall) {
  static std::atomic<int> calls{0};
  fs::GuestVolumes volumes(repo_.get(), CountingHelper(&calls));
  auto rp = repo_->GetRp("vm", "rp");
  ASSERT_OK(rp);
  auto vol = volumes.Open("vm", rp->id, "vda1");
  ASSERT_OK(vol);
  const uint64_t root = RootOf(**vol);
  auto top = (*vol)->ListDir(root);
  ASSERT_OK(top);
  auto etc = (*vol)->ListDir(ChildIno(*top, "etc"));
  ASSERT_OK(etc);
  // What the helper says of each file alone, to compare with.
  auto alone = [&](uint64_t ino) {
    std::lock_guard lock((*vol)->mu);
    auto r = (*vol)->fs->MapFile(ino);
    EXPECT_OK(r);
    return r.ok() ? r->size() : 0;
  };
  const uint64_t conf = ChildIno(*etc, "nginx.conf"), hosts = ChildIno(*etc, "hosts"),
                 empty = ChildIno(*etc, "empty"), sparse = ChildIno(*etc, "sparse");
  const size_t hosts_extents = alone(hosts), sparse_extents = alone(sparse);
  ASSERT_GT(sparse_extents, 64u);

  calls = 0;
  auto first = (*vol)->MapFile(conf);
  ASSERT_OK(first);
  EXPECT_EQ(calls, 1) << "nginx.conf, hosts and sparse in one call";
  auto second = (*vol)->MapFile(hosts);
  ASSERT_OK(second);
  EXPECT_EQ(second->size(), hosts_extents);
  EXPECT_EQ(calls, 1) << "hosts was mapped with nginx.conf";
  ASSERT_OK((*vol)->MapFile(conf));
  EXPECT_EQ(calls, 1) << "a file opened twice is mapped once";
  auto long_one = (*vol)->MapFile(sparse);
  ASSERT_OK(long_one);
  EXPECT_EQ(long_one->size(), sparse_extents);
  EXPECT_EQ(calls, 2) << "sparse is too long to keep: mapped on its own";
  ASSERT_OK((*vol)->MapFile(empty));
  EXPECT_EQ(calls, 3) << "an empty file is mapped when opened, alone (sparse is known long)";

  // Opened first, a file too long for a batch is still mapped whole.
  auto rp2 = repo_->GetRp("vm", "rp2");
  ASSERT_OK(rp2);
  auto vol2 = volumes.Open("vm", rp2->id, "vda1");
  ASSERT_OK(vol2);
  ASSERT_OK((*vol2)->ListDir(root));
  ASSERT_OK((*vol2)->ListDir(ChildIno(*top, "etc")));
  calls = 0;
  auto whole = (*vol2)->MapFile(sparse);
  ASSERT_OK(whole);
  EXPECT_EQ(whole->size(), sparse_extents);
  EXPECT_EQ(calls, 2) << "the batch, then sparse alone";
  ASSERT_OK((*vol2)->MapFile(hosts));
  EXPECT_EQ(calls, 2) << "hosts came with the batch";

  // And through the mount's own volumes, every byte of the files reads as written.
  EXPECT_EQ(ReadWhole(Walk("rp", {"vda1", "etc", "hosts"}).ino), "127.0.0.1 localhost\n");
  std::string sparse_bytes = ReadWhole(Walk("rp", {"vda1", "etc", "sparse"}).ino);
  ASSERT_EQ(sparse_bytes.size(), 100u * 8192);
  EXPECT_EQ(sparse_bytes.substr(8192, 4096), std::string(4096, 'b'));
  EXPECT_EQ(sparse_bytes.substr(8192 + 4096, 4096), std::string(4096, '\0'));
}

// A batch that fails as a whole (the helper died over one file in it) costs the file being
// opened nothing: it is mapped alone. The culprit alone fails, and none of that batch's
// files is put in a batch again.
TEST_F(GuestFilesTest, AFileThatKillsTheHelperFailsOnlyItsOwnOpen) {
  static std::atomic<int> calls{0};
  static std::atomic<uint64_t> poison{0};
  fs::GuestVolumes volumes(repo_.get(), CountingHelper(&calls, &poison));
  auto rp = repo_->GetRp("vm", "rp");
  ASSERT_OK(rp);
  auto vol = volumes.Open("vm", rp->id, "vda1");
  ASSERT_OK(vol);
  auto top = (*vol)->ListDir(RootOf(**vol));
  ASSERT_OK(top);
  auto etc = (*vol)->ListDir(ChildIno(*top, "etc"));
  ASSERT_OK(etc);
  const uint64_t conf = ChildIno(*etc, "nginx.conf"), hosts = ChildIno(*etc, "hosts"),
                 sparse = ChildIno(*etc, "sparse");
  poison = hosts;
  calls = 0;
  ASSERT_OK((*vol)->MapFile(conf)) << "hosts, not nginx.conf, is what fails";
  EXPECT_EQ(calls, 2) << "the failed batch, then nginx.conf alone";
  auto bad = (*vol)->MapFile(hosts);
  EXPECT_TRUE(bad.status().IsIOError()) << bad.status().ToString();
  EXPECT_EQ(calls, 3) << "hosts alone: never batched again";
  ASSERT_OK((*vol)->MapFile(sparse));
  EXPECT_EQ(calls, 4) << "sparse, from the failed batch, alone";
  poison = 0;
  ASSERT_OK((*vol)->MapFile(hosts));
  EXPECT_EQ(calls, 5);
}

// With the mount's prefetcher, listing a directory has its subdirectories listed ahead, two
// levels deep, one helper call per level; a walk then finds them listed, and what it lists
// has the next level listed in turn.
TEST_F(GuestFilesTest, AListingHasItsSubdirectoriesListedAheadInOneCallPerLevel) {
  static std::atomic<int> calls{0};
  fs::GuestVolumes volumes(repo_.get(), CountingHelper(&calls));
  volumes.PrefetchDirectories();
  auto rp = repo_->GetRp("vm", "rp");
  ASSERT_OK(rp);
  auto vol = volumes.Open("vm", rp->id, "vda1");
  ASSERT_OK(vol);
  const uint64_t root = RootOf(**vol);
  calls = 0;
  auto top = (*vol)->ListDir(root);
  ASSERT_OK(top);
  volumes.prefetcher()->WaitIdle();
  // The root; etc, d, private and lost+found together; then e (below d).
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(volumes.prefetcher()->listed(), 5u);

  calls = 0;
  auto d = (*vol)->ListDir(ChildIno(*top, "d"));
  ASSERT_OK(d);
  auto e = (*vol)->ListDir(ChildIno(*d, "e"));
  ASSERT_OK(e);
  volumes.prefetcher()->WaitIdle();
  // d and e were listed ahead: the one call is the prefetcher's, for f below e.
  EXPECT_EQ(calls, 1);
  ASSERT_OK((*vol)->ListDir(ChildIno(*e, "f")));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(volumes.prefetcher()->listed(), 6u);
}

// Walkers on several threads and the prefetcher share one volume, opened in-process so that
// TSan sees every access (scripts/test.sh runs this one under it): each walk sees the tree a
// walk without prefetching sees.
TEST_F(GuestFilesTest, ConcurrentWalksWithThePrefetcherSeeTheSameTree) {
  fs::GuestOpener in_process = [](guest::FsType type, guest::SourcePtr volume) {
    return guestfs::OpenGuestFs(type, std::move(volume));
  };
  auto rp = repo_->GetRp("vm", "rp");
  ASSERT_OK(rp);
  // Every path below the root with its mode and size, in walk order.
  auto walk = [&](fs::GuestVolumes& volumes) {
    std::string out;
    auto vol = volumes.Open("vm", rp->id, "vda1");
    if (!vol.ok()) return "ERROR " + vol.status().ToString();
    uint64_t root;
    {
      std::lock_guard lock((*vol)->mu);
      root = (*vol)->fs->RootIno();
    }
    std::vector<std::pair<std::string, uint64_t>> todo{{"", root}};
    while (!todo.empty()) {
      auto [path, dir] = todo.back();
      todo.pop_back();
      auto listing = (*vol)->ListDir(dir);
      if (!listing.ok()) return out + "ERROR " + listing.status().ToString();
      for (const auto& [name, attr] : *listing) {
        out += path + "/" + name + " " + std::to_string(attr.mode) + " " +
               std::to_string(attr.size) + "\n";
        if (S_ISDIR(attr.mode)) todo.emplace_back(path + "/" + name, attr.ino);
      }
    }
    return out;
  };
  fs::GuestVolumes plain(repo_.get(), in_process);
  const std::string expected = walk(plain);
  ASSERT_NE(expected.find("/d/e/f "), std::string::npos) << expected;
  fs::GuestVolumes volumes(repo_.get(), in_process);
  volumes.PrefetchDirectories();
  std::vector<std::string> got(4);
  std::vector<std::thread> walkers;
  for (size_t i = 0; i < got.size(); ++i) {
    walkers.emplace_back([&, i] { got[i] = walk(volumes); });
  }
  for (auto& t : walkers) t.join();
  for (const std::string& g : got) EXPECT_EQ(g, expected);
  volumes.prefetcher()->WaitIdle();
}

// rpfs diff of two RPs of one unchanged disk: nothing changed, nothing read but metadata;
// the volume that does not open is an error naming it, and the other is still compared.
TEST_F(GuestFilesTest, DiffOfEqualRpsIsEmptyAndNamesTheVolumeItCannotOpen) {
  fs::GuestVolumes volumes(repo_.get(), [](guest::FsType type, guest::SourcePtr volume) {
    guest::HelperOptions o{{RpfsBinary(), "__guest-helper"}, std::chrono::seconds(30)};
    return guest::StartGuestHelper(std::move(o), type, std::move(volume));
  });
  auto a = repo_->GetRp("vm", "rp");
  auto b = repo_->GetRp("vm", "rp2");
  ASSERT_OK(a);
  ASSERT_OK(b);
  auto diff = fs::DiffGuestFiles(volumes, "vm", a->id, b->id);
  ASSERT_OK(diff);
  EXPECT_TRUE(diff->changes.empty()) << fs::FormatGuestDiff(*diff);
  EXPECT_EQ(diff->bytes_read, 0u);  // every file's chunks have the same digests
  ASSERT_EQ(diff->errors.size(), 1u) << fs::FormatGuestDiff(*diff);
  EXPECT_EQ(diff->errors[0].rfind("vda2: ", 0), 0u) << diff->errors[0];
  EXPECT_NE(fs::FormatGuestDiff(*diff).find("! vda2: "), std::string::npos);
  EXPECT_FALSE(fs::DiffGuestFiles(volumes, "vm", a->id, 999).ok());
}

}  // namespace
}  // namespace rpfs::testing
