// What `rpfs --version` prints: rpfs's version and the commit it was built from, and the
// versions of the libraries this process runs with (each asked of its adapter), because a
// bug report needs both and distributions upgrade the libraries under the binary.
#pragma once

#include <string>

namespace rpfs::cli {

std::string VersionText();
// rpfs's own version alone ("0.1.0"): man pages and completion carry it.
std::string RpfsVersion();

}  // namespace rpfs::cli
