#include "store/rocks_status.h"

#include <string>

namespace rpfs::store {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(msg);
  if (s.IsNotSupported()) return Status::NotSupported(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  // RocksDB reports a full disk in several shapes; recognise the message too.
  if (msg.find("No space left") != std::string::npos) return Status::NoSpace(msg);
  return Status::IOError(msg);
}

}  // namespace rpfs::store
