// Conversion of RocksDB statuses: the only place that maps them.
#pragma once

#include <rocksdb/status.h>

#include <string_view>

#include "rpfs/status.h"

namespace rpfs::store {

Status FromRocks(const rocksdb::Status& s, std::string_view what);

}  // namespace rpfs::store
