#include "rp/clone_registry.h"

#include <filesystem>
#include <system_error>

#include "format/keys.h"
#include "util/crash_point.h"
#include "util/log.h"

namespace rpfs::rp {

namespace stdfs = std::filesystem;

std::string CloneRegistry::Key(const std::string& vm, const std::string& clone,
                               const std::string& disk) {
  return vm + '\0' + clone + '\0' + disk;  // names never hold NUL
}

std::string CloneRegistry::Dir(const std::string& vm, const std::string& clone) const {
  return store_->dir() + "/clones/" + vm + "/" + clone;
}

std::vector<store::ObjectId> CloneRegistry::Roots(const format::CloneRecord& c) {
  std::vector<store::ObjectId> roots;
  if ((c.flags & format::kCloneFlagHydrated) != 0) return roots;
  for (const auto& d : c.disks) {
    if (!d.root.IsZero()) roots.push_back(store::ObjectId{format::ObjectKind::kPage, d.root});
  }
  return roots;
}

std::shared_ptr<CloneDiskImpl> CloneRegistry::FindOpen(const std::string& vm,
                                                       const std::string& clone,
                                                       const std::string& disk) {
  std::lock_guard lock(mu_);
  auto it = open_.find(Key(vm, clone, disk));
  return it == open_.end() ? nullptr : it->second.lock();
}

CloneInfo CloneRegistry::ToInfo(const format::CloneRecord& c) {
  CloneInfo info;
  info.vm = c.vm;
  info.name = c.name;
  info.rp = c.rp_name;
  info.created_us = c.created_us;
  info.hydrated = (c.flags & format::kCloneFlagHydrated) != 0;
  info.source = c.source;
  info.dir = Dir(c.vm, c.name);
  for (const auto& d : c.disks) {
    CloneDiskInfo di;
    di.name = d.name;
    di.size = d.size;
    auto files = CloneFiles(info.dir, d.name);
    di.path = files.data;
    if (info.hydrated) {
      di.hydrated_bytes = d.size;
    } else if (auto open = FindOpen(c.vm, c.name, d.name)) {
      di.hydrated_bytes = open->hydrated_bytes();  // ahead of what its files say
    } else {
      auto bytes = PresentBytesOnDisk(files, d.size, store_->config().chunk_size);
      di.hydrated_bytes = bytes.ok() ? *bytes : 0;
    }
    info.disks.push_back(std::move(di));
  }
  return info;
}

void CloneRegistry::OnHydrated(const std::string& vm, const std::string& clone) {
  gate_->Defer([this, vm, clone] { ReleaseIfHydrated(vm, clone); });
}

void CloneRegistry::ReleaseIfHydrated(const std::string& vm, const std::string& clone) {
  auto c = catalog_->LoadClone(vm, clone);
  if (!c.ok() || (c->flags & format::kCloneFlagHydrated) != 0) return;  // deleted, or done
  for (const auto& d : c->disks) {
    bool done;
    if (auto open = FindOpen(vm, clone, d.name)) {
      done = open->durably_hydrated();  // its map says so on disk, not only in memory
    } else {
      auto bytes = PresentBytesOnDisk(CloneFiles(Dir(vm, clone), d.name), d.size,
                                      store_->config().chunk_size);
      done = bytes.ok() && *bytes == d.size;
    }
    if (!done) return;  // another disk still needs the store
  }
  CrashPoint("clone.before_release");
  store::Mutation m;
  for (const store::ObjectId& root : Roots(*c)) m.AddRef(root, -1);
  c->flags |= format::kCloneFlagHydrated;
  m.Put(format::CloneKey(vm, clone), format::EncodeClone(*c));
  if (!store_->Commit(m).ok()) return;  // stays unhydrated, retried later
  (void)store_->RunGc();
  StartRelease(std::move(*c));  // write_mu is held here
}

void CloneRegistry::StartRelease(format::CloneRecord c) {
  if (c.source.empty()) return;
  const std::string label = CloneLabel(c.vm, c.name);
  std::lock_guard lock(releases_mu_);
  std::erase_if(releases_, [](Release& r) {
    if (!r.done->load()) return false;
    r.thread.join();  // returns at once: it is done
    return true;
  });
  auto done = std::make_shared<std::atomic<bool>>(false);
  try {
    std::thread t([this, rec = std::move(c), done] {
      ReleaseSource(rec);
      done->store(true);
    });
    releases_.push_back(Release{std::move(t), std::move(done)});
  } catch (const std::system_error& e) {  // no thread to be had: the source's sweep does it
    log::Log(log::Severity::kWarning, "clone-source-not-released",
             {{"clone", label}, {"error", e.what()}});
  }
}

void CloneRegistry::ReleaseSource(const format::CloneRecord& c) {
  if (c.source.empty()) return;
  RemoteChunksFactory factory;
  {
    std::lock_guard lock(mu_);
    factory = remote_factory_;
  }
  Status st = factory ? Status::OK() : Status::NotSupported("no way to reach " + c.source);
  if (st.ok()) {
    auto remote = factory(c.source);
    st = remote.ok() ? (*remote)->Release(c.source) : remote.status();
  }
  if (!st.ok()) {
    log::Log(log::Severity::kWarning, "clone-source-not-released",
             {{"clone", CloneLabel(c.vm, c.name)}, {"source", c.source}, {"error", st.ToString()}});
  }
}

void CloneRegistry::WaitForReleases() {
  std::vector<Release> running;
  {
    std::lock_guard lock(releases_mu_);
    running.swap(releases_);
  }
  for (auto& r : running) r.thread.join();
}

Result<std::shared_ptr<CloneDisk>> CloneRegistry::Open(const std::string& vm,
                                                       const std::string& clone,
                                                       const std::string& disk) {
  bool release_now = false;
  Result<std::shared_ptr<CloneDisk>> out = Status::Aborted("not opened");
  {
    std::lock_guard lock(mu_);
    const std::string key = Key(vm, clone, disk);
    auto it = open_.find(key);
    if (it != open_.end()) {
      if (auto open = it->second.lock()) return std::shared_ptr<CloneDisk>(open);
    }
    RPFS_ASSIGN_OR_RETURN(auto c, catalog_->LoadClone(vm, clone));
    const format::RpStream* stream = nullptr;
    for (const auto& d : c.disks) {
      if (d.name == disk) stream = &d;
    }
    if (stream == nullptr) return Status::NotFound(CloneLabel(vm, clone) + " has no disk " + disk);
    auto source = SourceOf(c, *stream);
    if (!source.ok()) return source.status().WithContext("opening ", CloneLabel(vm, clone));
    auto opened = CloneDiskImpl::Open(std::move(*source), stream->size, store_->config().chunk_size,
                                      CloneFiles(Dir(vm, clone), disk),
                                      [this, vm, clone] { OnHydrated(vm, clone); });
    if (!opened.ok()) return opened.status().WithContext("opening ", CloneLabel(vm, clone));
    open_[key] = *opened;
    // Hydrated before a crash that came before the store heard of it: release it now.
    release_now = (*opened)->durably_hydrated() && (c.flags & format::kCloneFlagHydrated) == 0;
    out = std::shared_ptr<CloneDisk>(*opened);
  }
  if (release_now) OnHydrated(vm, clone);  // after clones_mu: the chore may take write_mu
  return out;
}

void CloneRegistry::SetRemoteFactory(RemoteChunksFactory factory) {
  std::lock_guard lock(mu_);
  remote_factory_ = std::move(factory);
}

Result<std::unique_ptr<CloneChunkSource>> CloneRegistry::SourceOf(const format::CloneRecord& c,
                                                                  const format::RpStream& disk) {
  if (c.source.empty()) return NewStoreChunkSource(store_, pages_, disk);
  const uint64_t cs = store_->config().chunk_size;
  RPFS_ASSIGN_OR_RETURN(auto chunks,
                        ReadRemoteChunkList(RemoteChunkListFile(Dir(c.vm, c.name), disk.name),
                                            (disk.size + cs - 1) / cs));
  // Connected on the first chunk it fetches, outside clones_mu: a hydrated clone never
  // needs its source, so it opens also where none is reachable.
  RemoteConnector connect = [factory = remote_factory_,
                             source = c.source]() -> Result<std::shared_ptr<RemoteChunks>> {
    if (!factory) return Status::NotSupported("no way to reach " + source);
    return factory(source);
  };
  return NewRemoteChunkSource(std::move(connect), std::move(chunks));
}

Status CloneRegistry::DeleteUnlessOpen(const format::CloneRecord& c,
                                       const std::function<Status()>& commit) {
  std::lock_guard lock(mu_);
  for (const auto& d : c.disks) {
    auto it = open_.find(Key(c.vm, c.name, d.name));
    if (it != open_.end() && !it->second.expired()) {
      return Status::Busy(CloneLabel(c.vm, c.name) + " is in use: disk " + d.name + " is open");
    }
  }
  RPFS_RETURN_IF_ERROR(commit());
  for (const auto& d : c.disks) open_.erase(Key(c.vm, c.name, d.name));
  return Status::OK();
}

Status CloneRegistry::RemoveOrphanDirs() {
  std::error_code ec;
  stdfs::path root = store_->dir() + "/clones";
  if (!stdfs::exists(root, ec)) return Status::OK();
  for (const auto& vm_dir : stdfs::directory_iterator(root, ec)) {
    for (const auto& clone_dir : stdfs::directory_iterator(vm_dir.path(), ec)) {
      std::string vm = vm_dir.path().filename();
      std::string clone = clone_dir.path().filename();
      RPFS_ASSIGN_OR_RETURN(auto rec, store_->Get(format::CloneKey(vm, clone)));
      if (!rec) stdfs::remove_all(clone_dir.path(), ec);
    }
  }
  return Status::OK();
}

}  // namespace rpfs::rp
