#include "cli/daemon_request.h"

#include "util/coding.h"

namespace rpfs::cli {

std::string EncodeRequest(const Request& r) {
  std::string out;
  Encoder e(&out);
  e.PutString(kRequestMagic);
  e.PutString(r.cwd);
  e.PutVarint(r.args.size());
  for (const auto& a : r.args) e.PutString(a);
  return out;
}

Result<Request> DecodeRequest(std::string_view in) {
  if (in.size() > kMaxRequest) {
    return Status::InvalidArgument("daemon request of " + std::to_string(in.size()) +
                                   " bytes, at most " + std::to_string(kMaxRequest) + " allowed");
  }
  Decoder d(in, "daemon request");
  RPFS_ASSIGN_OR_RETURN(std::string magic, d.GetString());
  if (magic != kRequestMagic) {
    // The peer's bytes are not echoed: they may be anything.
    return Status::InvalidArgument("daemon request of another protocol version (expected " +
                                   std::string(kRequestMagic) +
                                   "): run the same rpfs binary as the mount");
  }
  Request r;
  RPFS_ASSIGN_OR_RETURN(r.cwd, d.GetString());
  if (!r.cwd.empty() && r.cwd.front() != '/') {
    return Status::InvalidArgument("daemon request: working directory is not absolute");
  }
  if (r.cwd.find('\0') != std::string::npos) {
    return Status::InvalidArgument("daemon request: working directory contains NUL");
  }
  RPFS_ASSIGN_OR_RETURN(uint64_t n, d.GetVarint());
  if (n > d.remaining()) {  // each argument takes at least its length byte
    return Status::Corruption("daemon request claims " + std::to_string(n) + " arguments in " +
                              std::to_string(d.remaining()) + " bytes");
  }
  for (uint64_t i = 0; i < n; ++i) {
    RPFS_ASSIGN_OR_RETURN(std::string a, d.GetString());
    if (a.find('\0') != std::string::npos) {
      return Status::InvalidArgument("daemon request: argument " + std::to_string(i + 1) +
                                     " contains NUL");
    }
    r.args.push_back(std::move(a));
  }
  RPFS_RETURN_IF_ERROR(d.ExpectEnd());
  return r;
}

}  // namespace rpfs::cli
