// Validation of user-chosen names (VMs, recovery points, disks, clones).
#pragma once

#include <string_view>

#include "rpfs/status.h"

namespace rpfs {

inline constexpr size_t kMaxNameBytes = 128;
inline constexpr size_t kMaxDescriptionBytes = 1024;

// OK when `name` is 1-128 bytes, has no '/', no NUL, no control characters, is not
// "." or "..", and does not start with '.' (leading dots are reserved for .control,
// .status, .clones). Otherwise InvalidArgument naming `what` ("rp name") and the rule broken.
Status ValidateName(std::string_view name, std::string_view what);

// OK when an RP description is at most 1024 bytes with no control characters but tab (it
// is one `description:` line of `info` and one field of `list`). Otherwise InvalidArgument
// naming the limit.
Status ValidateDescription(std::string_view text);

}  // namespace rpfs
