// LVM2's text metadata format (what `vgcfgbackup` writes and what a PV's metadata area holds):
//   vg0 { id = "..." extent_size = 8192 physical_volumes { pv0 { pe_start = 2048 } }
//         logical_volumes { root { segment1 { stripes = ["pv0", 0] } } } }
// Nested sections `name { ... }`, `key = value` with values a string, an integer or a list
// `[v, ...]`, and `#` comments. Guest bytes: the parser bounds nesting (16 levels) and text
// size (4 MiB), and reports the line of the first thing it does not understand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpfs/status.h"

namespace rpfs::guest {

struct LvmValue {
  enum class Kind : uint8_t { kString, kNumber, kList };
  Kind kind = Kind::kString;
  std::string text;  // kString: the string; kNumber: its digits as written
  int64_t number = 0;
  std::vector<LvmValue> list;
};

struct LvmSection {
  std::string name;
  std::vector<std::pair<std::string, LvmValue>> values;
  std::vector<LvmSection> sections;

  // The first value named `key` / subsection named `name`; nullptr when absent.
  const LvmValue* Find(std::string_view key) const;
  const LvmSection* Child(std::string_view child) const;
  // Convenience: the number / string named `key`, nullopt when absent or of another kind.
  std::optional<int64_t> Number(std::string_view key) const;
  std::optional<std::string> String(std::string_view key) const;
};

constexpr size_t kMaxLvmMetadata = 4 << 20;

// The whole text as an unnamed root section. Corruption naming the line on a syntax error.
Result<LvmSection> ParseLvmMetadata(std::string_view text);

}  // namespace rpfs::guest
