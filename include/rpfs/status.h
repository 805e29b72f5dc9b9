// Status and Result<T>: the one error type of rpfs.
//
// A Status is either OK or carries a Code, a human-readable message that names the
// object and the cause, and optionally the errno of the system call that failed.
// Context is prepended as the error travels up ("creating rp web01/day1: reading vda: ...").
// Library code never throws; errors are converted to errno (fs layer) or exit codes (cli)
// in exactly one place each.
#pragma once

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace rpfs {

class [[nodiscard]] Status {
 public:
  enum class Code : int {
    kOk = 0,
    kNotFound,
    kAlreadyExists,
    kInvalidArgument,  // bad user input: names, syntax, options
    kBusy,             // in use: store lock, VM running, operation in progress
    kCorruption,       // stored data fails its checksum or does not decode
    kIOError,          // a system call failed
    kNoSpace,
    kPermissionDenied,
    kNotSupported,
    kAborted,  // interrupted on purpose (fault injection, cancellation)
    // What a filesystem request asks that this object cannot do (fs::ToErrno's table):
    kReadOnly,       // a write to something immutable (EROFS)
    kStale,          // an inode or handle the kernel holds is no longer known (ESTALE)
    kNotADirectory,  // a directory operation on a file (ENOTDIR)
    kIsADirectory,   // a file operation on a directory (EISDIR)
    kBadHandle,      // a handle not open for this operation (EBADF)
    kNoData,         // SEEK_DATA/SEEK_HOLE past the data or the end (ENXIO)
    kCrossDevice,    // a move between VMs (EXDEV)
    kTooLarge,       // a write past a fixed size (EFBIG)
    kNotPermitted,   // refused by rule whoever asks: an accidental mkdir or move (EPERM)
    kNoAttribute,    // no extended attribute of that name (ENODATA)
  };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(Code::kAlreadyExists, std::move(msg));
  }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  // `err`: the errno of the failed system call (FromErrno sets it); never an errno chosen
  // to steer fs::ToErrno: give the Status the code that means it instead.
  static Status IOError(std::string msg, int err = 0) {
    return Status(Code::kIOError, std::move(msg), err);
  }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg), ENOSPC); }
  static Status PermissionDenied(std::string msg) {
    return Status(Code::kPermissionDenied, std::move(msg));
  }
  static Status NotSupported(std::string msg) {
    return Status(Code::kNotSupported, std::move(msg));
  }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  static Status ReadOnly(std::string msg) { return Status(Code::kReadOnly, std::move(msg)); }
  static Status Stale(std::string msg) { return Status(Code::kStale, std::move(msg)); }
  static Status NotADirectory(std::string msg) {
    return Status(Code::kNotADirectory, std::move(msg));
  }
  static Status IsADirectory(std::string msg) {
    return Status(Code::kIsADirectory, std::move(msg));
  }
  static Status BadHandle(std::string msg) { return Status(Code::kBadHandle, std::move(msg)); }
  static Status NoData(std::string msg) { return Status(Code::kNoData, std::move(msg)); }
  static Status CrossDevice(std::string msg) { return Status(Code::kCrossDevice, std::move(msg)); }
  static Status TooLarge(std::string msg) { return Status(Code::kTooLarge, std::move(msg)); }
  static Status NotPermitted(std::string msg) {
    return Status(Code::kNotPermitted, std::move(msg));
  }
  static Status NoAttribute(std::string msg) { return Status(Code::kNoAttribute, std::move(msg)); }

  // Builds the status for a failed system call from `err` (an errno value):
  // ENOSPC/EDQUOT become NoSpace, EACCES/EPERM PermissionDenied, ENOENT NotFound,
  // EBUSY/EAGAIN Busy, EROFS ReadOnly, ENOTDIR/EISDIR/EXDEV/EFBIG their codes; any other
  // errno is an IOError that keeps it (fs::ToErrno passes it through).
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return ok() ? Code::kOk : state_->code; }
  // errno of the failed system call, or 0 when not from one.
  int sys_errno() const { return ok() ? 0 : state_->sys_errno; }
  const std::string& message() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsAlreadyExists() const { return code() == Code::kAlreadyExists; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsNoSpace() const { return code() == Code::kNoSpace; }

  // Returns a copy whose message is "<context>: <message>". No-op on OK.
  template <typename... Parts>
  Status WithContext(const Parts&... parts) const {
    if (ok()) return *this;
    std::string ctx;
    (ctx.append(ToText(parts)), ...);
    return Status(state_->code, ctx + ": " + state_->message, state_->sys_errno);
  }

  // Returns a copy whose message is "<message><suffix>" (what happened afterwards). No-op on
  // OK.
  Status WithSuffix(std::string_view suffix) const {
    if (ok()) return *this;
    return Status(state_->code, state_->message + std::string(suffix), state_->sys_errno);
  }

  // "NotFound: vm web01 does not exist"
  std::string ToString() const;
  static const char* CodeName(Code code);

 private:
  Status(Code code, std::string msg, int err = 0)
      : state_(std::make_shared<const State>(State{code, std::move(msg), err})) {}

  static std::string ToText(std::string_view s) { return std::string(s); }
  template <typename T>
  requires std::is_arithmetic_v<T>
  static std::string ToText(T v) { return std::to_string(v); }

  struct State {
    Code code;
    std::string message;
    int sys_errno;
  };
  std::shared_ptr<const State> state_;  // null means OK; shared so copies are cheap
};

// A value or an error. Never holds an OK status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rpfs

#define RPFS_CONCAT_INNER(a, b) a##b
#define RPFS_CONCAT(a, b) RPFS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define RPFS_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::rpfs::Status _rpfs_status = (expr);        \
    if (!_rpfs_status.ok()) return _rpfs_status; \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its error from the enclosing function.
#define RPFS_ASSIGN_OR_RETURN(lhs, expr) \
  RPFS_ASSIGN_OR_RETURN_IMPL(RPFS_CONCAT(_rpfs_result_, __LINE__), lhs, expr)
#define RPFS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
