// The message a client sends the mount daemon (daemon.h): its command line and working
// directory. Pure encoding, no I/O: the decoder takes bytes from whoever reached the socket
// and answers a clear Status for anything malformed (it is fuzzed:
// tests/fuzz/daemon_request_fuzz.cc).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "rpfs/status.h"

namespace rpfs::cli {

inline constexpr char kRequestMagic[] = "rpfs-cli-1";
inline constexpr size_t kMaxRequest = 1 << 20;  // bytes of one encoded request

struct Request {
  std::vector<std::string> args;  // the command line without the program name
  std::string cwd;                // absolute, or empty when the client has none
};

std::string EncodeRequest(const Request& r);
// InvalidArgument for another protocol, an oversized request, a NUL inside an argument or
// a relative working directory; Corruption for a truncated or otherwise malformed encoding
// (an argument count larger than the bytes left, trailing bytes).
Result<Request> DecodeRequest(std::string_view in);

}  // namespace rpfs::cli
