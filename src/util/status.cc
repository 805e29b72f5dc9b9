#include "rpfs/status.h"

#include <cstring>

namespace rpfs {

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return Status(Code::kNoSpace, std::move(msg), err);
    case EACCES:
    case EPERM:
      return Status(Code::kPermissionDenied, std::move(msg), err);
    case EROFS:
      return Status(Code::kReadOnly, std::move(msg), err);
    case ENOTDIR:
      return Status(Code::kNotADirectory, std::move(msg), err);
    case EISDIR:
      return Status(Code::kIsADirectory, std::move(msg), err);
    case EXDEV:
      return Status(Code::kCrossDevice, std::move(msg), err);
    case EFBIG:
      return Status(Code::kTooLarge, std::move(msg), err);
    case ENOENT:
      return Status(Code::kNotFound, std::move(msg), err);
    case EBUSY:
    case EAGAIN:
      return Status(Code::kBusy, std::move(msg), err);
    default:
      return Status(Code::kIOError, std::move(msg), err);
  }
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return ok() ? kEmpty : state_->message;
}

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kBusy:
      return "Busy";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kNoSpace:
      return "NoSpace";
    case Code::kPermissionDenied:
      return "PermissionDenied";
    case Code::kNotSupported:
      return "NotSupported";
    case Code::kAborted:
      return "Aborted";
    case Code::kReadOnly:
      return "ReadOnly";
    case Code::kStale:
      return "Stale";
    case Code::kNotADirectory:
      return "NotADirectory";
    case Code::kIsADirectory:
      return "IsADirectory";
    case Code::kBadHandle:
      return "BadHandle";
    case Code::kNoData:
      return "NoData";
    case Code::kCrossDevice:
      return "CrossDevice";
    case Code::kTooLarge:
      return "TooLarge";
    case Code::kNotPermitted:
      return "NotPermitted";
    case Code::kNoAttribute:
      return "NoAttribute";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(state_->code)) + ": " + state_->message;
}

}  // namespace rpfs
