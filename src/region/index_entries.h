// The region index's entries decoded, and the questions the protocol asks of them (which
// snapshot is published, which one a push should inherit from, what keeps a delete
// waiting). Shared by region.cc (push, delete, gc) and region_holds.cc (holds).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "region/manifest.h"
#include "region/object_store.h"

namespace rpfs::region {

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// `host` as the first part of a sid: host names may hold dots, which separate the parts
// of snapshot object names.
std::string SidHost(const std::string& host);

// An index entry, decoded. `sid` is the one the entry acts for: for push.*, del.* and
// hold.* the id of its key (trusted over what a value claims), for snap.* its value's.
struct Entry {
  std::string key;
  std::string value;
  std::string sid;
  bool readable = false;
  Summary summary;
};

// Every snap.*, push.*, del.* and hold.* entry of `index` (other keys are not entries).
std::vector<Entry> Entries(const Omap& index);

// Whether `index` publishes snapshot `name` as the push `sid`.
bool Published(const Omap& index, const std::string& name, const std::string& sid);

// The published entry of `sid`, if any.
std::optional<Entry> FindPublished(const std::vector<Entry>& entries, const std::string& sid);

// The base of a new push: the latest snapshot pushed from the same host and VM.
std::optional<Entry> ChooseBase(const std::vector<Entry>& entries, const std::string& host,
                                const std::string& vm);

// Why `sid`'s references must stay for now: an entry other than `own_key` based on it (a
// push or delete in progress, a hold of a clone), or one this rpfs cannot read (it may
// be). Starts with the entry's key; empty when nothing keeps them.
std::string KeptBy(const std::vector<Entry>& entries, const std::string& sid,
                   const std::string& own_key);

}  // namespace rpfs::region
