// Text fields of `--json` output (README "JSON output"): names may hold any byte but
// '/' and NUL (SPEC §1) and descriptions are free text, while a JSON string must be UTF-8.
// A value that is valid UTF-8 is a JSON string (the writer escapes control characters); any
// other value is a JSON array of its byte values (0-255), as `journalctl -o json` writes
// non-UTF-8 fields. Either way the exact bytes come back, and dump() cannot throw.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rpfs::cli {

nlohmann::json JsonText(const std::string& value);
// An array of JsonText values.
nlohmann::json JsonTexts(const std::vector<std::string>& values);

}  // namespace rpfs::cli
