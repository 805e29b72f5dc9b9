#include "rpfs/names.h"

#include <string>

namespace rpfs {

Status ValidateName(std::string_view name, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid " + std::string(what) + " '" + std::string(name) +
                                   "': " + std::string(why));
  };
  if (name.empty()) return Status::InvalidArgument("invalid " + std::string(what) + ": empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument("invalid " + std::string(what) + ": " +
                                   std::to_string(name.size()) + " bytes, at most " +
                                   std::to_string(kMaxNameBytes) + " allowed");
  }
  if (name == "." || name == "..") return bad("'.' and '..' are not names");
  if (name.front() == '.') return bad("names may not start with '.'");
  for (char c : name) {
    if (c == '/') return bad("names may not contain '/'");
    if (c == '\0')
      return Status::InvalidArgument("invalid " + std::string(what) + ": contains NUL");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return bad("control characters");
  }
  return Status::OK();
}

}  // namespace rpfs
