// An in-memory ObjectStore with RADOS's guarantees as region/object_store.h states them
// (atomic per object, a version bumped by every change), plus hooks the tests use to fail
// an operation or to act "concurrently" between two steps of the code under test.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "region/object_store.h"

namespace rpfs::region::testing {

struct MemoryObject {
  std::string data;
  Omap omap;
  uint64_t version = 1;
};

class MemoryObjectStore final : public ObjectStore {
 public:
  // Called before each operation with its name ("read", "create", "ref", "unref", "omap",
  // "remove_if", "write", "update", "remove", "list") and object; a non-OK status fails it.
  using Hook = std::function<Status(const std::string& op, const std::string& oid)>;

  std::map<std::string, MemoryObject> objects;  // the pool; tests inspect and damage it
  Hook hook;

  std::vector<Result<std::string>> ReadMany(const std::vector<std::string>& oids) override {
    std::vector<Result<std::string>> out;
    for (const auto& oid : oids) out.push_back(ReadOne(oid));
    return out;
  }

  Result<std::string> ReadOne(const std::string& oid) {
    RPFS_RETURN_IF_ERROR(Before("read", oid));
    auto it = objects.find(oid);
    if (it == objects.end()) return Status::NotFound(oid + ": no such object");
    return it->second.data;
  }

  std::vector<Status> CreateMany(const std::vector<NewObject>& news) override {
    std::vector<Status> out;
    for (const auto& n : news) {
      Status st = Before("create", n.oid);
      if (st.ok() && objects.count(n.oid) != 0) st = Status::AlreadyExists(n.oid + ": exists");
      if (st.ok()) {
        objects[n.oid] = MemoryObject{n.data, n.omap, NextVersion()};
        written += n.data.size();
      }
      out.push_back(st);
    }
    return out;
  }

  std::vector<Status> SetOmapIfExistsMany(const std::vector<std::string>& oids,
                                          const Omap& omap) override {
    std::vector<Status> out;
    for (const auto& oid : oids) {
      Status st = Before("ref", oid);
      auto it = objects.find(oid);
      if (st.ok() && it == objects.end()) st = Status::NotFound(oid + ": no such object");
      if (st.ok()) {
        for (const auto& kv : omap) it->second.omap[kv.first] = kv.second;
        it->second.version = NextVersion();
      }
      out.push_back(st);
    }
    return out;
  }

  std::vector<Status> RemoveOmapKeysMany(const std::vector<std::string>& oids,
                                         const std::vector<std::string>& keys) override {
    std::vector<Status> out;
    for (const auto& oid : oids) {
      Status st = Before("unref", oid);
      auto it = objects.find(oid);
      if (st.ok() && it == objects.end()) st = Status::NotFound(oid + ": no such object");
      if (st.ok()) {
        for (const auto& k : keys) it->second.omap.erase(k);
        it->second.version = NextVersion();
      }
      out.push_back(st);
    }
    return out;
  }

  std::vector<OmapSnapshot> GetOmapMany(const std::vector<std::string>& oids) override {
    std::vector<OmapSnapshot> out(oids.size());
    for (size_t i = 0; i < oids.size(); ++i) {
      Status st = Before("omap", oids[i]);
      auto it = objects.find(oids[i]);
      if (st.ok() && it == objects.end()) st = Status::NotFound(oids[i] + ": no such object");
      out[i].status = st;
      if (st.ok()) {
        out[i].values = it->second.omap;
        out[i].version = it->second.version;
      }
    }
    return out;
  }

  std::vector<Status> RemoveIfVersionMany(
      const std::vector<std::pair<std::string, uint64_t>>& items) override {
    std::vector<Status> out;
    for (const auto& [oid, version] : items) {
      Status st = Before("remove_if", oid);
      auto it = objects.find(oid);
      if (st.ok() && it == objects.end()) st = Status::NotFound(oid + ": no such object");
      if (st.ok() && it->second.version != version) st = Status::Aborted(oid + ": changed");
      if (st.ok()) objects.erase(it);
      out.push_back(st);
    }
    return out;
  }

  Status WriteFull(const std::string& oid, const std::string& data) override {
    RPFS_RETURN_IF_ERROR(Before("write", oid));
    MemoryObject& o = objects[oid];
    o.data = data;
    o.version = NextVersion();
    written += data.size();
    return Status::OK();
  }

  Status UpdateOmap(const std::string& oid, const OmapUpdate& u) override {
    RPFS_RETURN_IF_ERROR(Before("update", oid));
    MemoryObject& o = objects[oid];
    for (const auto& k : u.absent) {
      if (o.omap.count(k) != 0) return Status::Aborted(oid + ": " + k + " exists");
    }
    for (const auto& [k, v] : u.equal) {
      auto it = o.omap.find(k);
      if (it == o.omap.end() || it->second != v)
        return Status::Aborted(oid + ": " + k + " differs");
    }
    for (const auto& [k, v] : u.set) o.omap[k] = v;
    for (const auto& k : u.remove) o.omap.erase(k);
    o.version = NextVersion();
    return Status::OK();
  }

  Status Remove(const std::string& oid) override {
    RPFS_RETURN_IF_ERROR(Before("remove", oid));
    if (objects.erase(oid) == 0) return Status::NotFound(oid + ": no such object");
    return Status::OK();
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    RPFS_RETURN_IF_ERROR(Before("list", prefix));
    std::vector<std::string> out;
    for (const auto& kv : objects) {
      if (kv.first.compare(0, prefix.size(), prefix) == 0) out.push_back(kv.first);
    }
    return out;
  }

  uint64_t bytes_written() const override { return written; }

  size_t Count(const std::string& prefix) const {
    size_t n = 0;
    for (const auto& kv : objects) n += kv.first.compare(0, prefix.size(), prefix) == 0;
    return n;
  }

  uint64_t written = 0;

 private:
  Status Before(const std::string& op, const std::string& oid) {
    if (!hook) return Status::OK();
    // The hook may call back into this store (a "concurrent" host): not while it runs.
    Hook h = std::move(hook);
    hook = nullptr;
    Status st = h(op, oid);
    if (!hook) hook = std::move(h);
    return st;
  }
  uint64_t NextVersion() { return ++clock_; }
  uint64_t clock_ = 100;
};

}  // namespace rpfs::region::testing
