// ObjectStore: the object primitives a region is built on, one method per atomic RADOS
// operation. The only implementation of rpfs is the librados adapter (rados_store.h); the
// tests use an in-memory one. Everything above it (region.h) is written against this
// interface, so the protocol's safety (docs/region.md) rests on exactly these guarantees:
//
//   - each method is atomic on its object and durable when it returns OK;
//   - every change of an object (data, omap) increases its version;
//   - RemoveIfVersion removes the object only if nothing changed it since `version` was read.
//
// Batch methods issue all their operations at once (pipelined) and return one result per
// item, in order. Errors: NotFound (no such object), AlreadyExists (exclusive create lost),
// Aborted (a guard failed: version or omap comparison), IOError (unreachable, timeout,
// anything else; the message names the object).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "rpfs/status.h"

namespace rpfs::region {

using Omap = std::map<std::string, std::string>;

// An object's omap as read, with the version it was read at. `status` is not OK when the
// read failed (NotFound: no such object); then the rest is empty. (Not a Result: g++ 12
// misreports a Result holding a std::map as "maybe uninitialized".)
struct OmapSnapshot {
  Status status;
  Omap values;
  uint64_t version = 0;
  bool ok() const { return status.ok(); }
};

// One object's creation with its data and first omap entries.
struct NewObject {
  std::string oid;
  std::string data;
  Omap omap;
};

// A guarded omap update: applied only if every key in `absent` is missing and every key in
// `equal` holds that value (Aborted otherwise). Values stored are never empty.
struct OmapUpdate {
  std::vector<std::string> absent;
  Omap equal;
  Omap set;
  std::vector<std::string> remove;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // The whole object's data.
  virtual std::vector<Result<std::string>> ReadMany(const std::vector<std::string>& oids) = 0;
  // The same reads, all in flight at once, each handed to `each` (its index, its data) in
  // order as soon as it and those before it have arrived: the caller works on the first
  // objects while the others are still on their way.
  virtual void ReadEach(const std::vector<std::string>& oids,
                        const std::function<void(size_t, Result<std::string>)>& each) {
    auto all = ReadMany(oids);
    for (size_t i = 0; i < all.size(); ++i) each(i, std::move(all[i]));
  }
  // Creates each object with its data and omap, exclusively: AlreadyExists when it exists.
  virtual std::vector<Status> CreateMany(const std::vector<NewObject>& objects) = 0;
  // Sets `omap` on each object that exists; NotFound (creating nothing) when it does not.
  virtual std::vector<Status> SetOmapIfExistsMany(const std::vector<std::string>& oids,
                                                  const Omap& omap) = 0;
  // Removes `keys` from each object's omap (NotFound when the object does not exist).
  virtual std::vector<Status> RemoveOmapKeysMany(const std::vector<std::string>& oids,
                                                 const std::vector<std::string>& keys) = 0;
  // Each object's omap with the version it was read at.
  virtual std::vector<OmapSnapshot> GetOmapMany(const std::vector<std::string>& oids) = 0;
  // Removes each object if its version is still the one given (Aborted otherwise).
  virtual std::vector<Status> RemoveIfVersionMany(
      const std::vector<std::pair<std::string, uint64_t>>& objects) = 0;

  // Replaces an object's data (creating it).
  virtual Status WriteFull(const std::string& oid, const std::string& data) = 0;
  // Applies `update` to `oid`'s omap atomically (creating the object).
  virtual Status UpdateOmap(const std::string& oid, const OmapUpdate& update) = 0;
  virtual Status Remove(const std::string& oid) = 0;  // NotFound when absent
  // Every object whose name starts with `prefix` (a full listing of the pool, filtered).
  virtual Result<std::vector<std::string>> List(const std::string& prefix) = 0;

  // Bytes of object data this client has written (what a push sent), for tests and stats.
  virtual uint64_t bytes_written() const = 0;
};

}  // namespace rpfs::region
