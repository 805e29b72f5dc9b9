#include "cli/exit_codes.h"

namespace rpfs::cli {

// Every code has a row, so a new Status code fails to compile (-Wswitch) until it is given
// its exit code here and in docs/cli.md.
int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    case Status::Code::kNotFound:
      return kExitNotFound;
    case Status::Code::kAlreadyExists:
      return kExitExists;
    case Status::Code::kBusy:
      return kExitBusy;
    case Status::Code::kPermissionDenied:
    case Status::Code::kNotPermitted:
    case Status::Code::kReadOnly:
    case Status::Code::kNotSupported:
      return kExitRefused;
    case Status::Code::kCorruption:
      return kExitDamaged;
    // The rest are I/O failures or filesystem-request codes a command does not meet.
    case Status::Code::kIOError:
    case Status::Code::kNoSpace:
    case Status::Code::kAborted:
    case Status::Code::kStale:
    case Status::Code::kNotADirectory:
    case Status::Code::kIsADirectory:
    case Status::Code::kBadHandle:
    case Status::Code::kNoData:
    case Status::Code::kCrossDevice:
    case Status::Code::kTooLarge:
    case Status::Code::kNoAttribute:
      return kExitFailed;
  }
  return kExitFailed;
}

}  // namespace rpfs::cli
