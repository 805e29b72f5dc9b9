#include "rpfs/names.h"

#include <string>

namespace rpfs {

namespace {

// The name as it can be shown on one terminal line: control bytes escaped as \xNN.
std::string Printable(std::string_view name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Status ValidateName(std::string_view name, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("invalid " + std::string(what) + " '" + Printable(name) +
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

Status ValidateDescription(std::string_view text) {
  if (text.size() > kMaxDescriptionBytes) {
    return Status::InvalidArgument("invalid description: " + std::to_string(text.size()) +
                                   " bytes, at most " + std::to_string(kMaxDescriptionBytes) +
                                   " allowed");
  }
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      return Status::InvalidArgument(
          "invalid description: control characters (one line, tabs allowed)");
    }
  }
  return Status::OK();
}

}  // namespace rpfs
