#include "cli/table.h"

#include <algorithm>

namespace rpfs::cli {
namespace {

// Terminal columns of `s`: its UTF-8 code points (continuation bytes take none). Wide
// characters count as one; good enough for aligning names.
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

void Table::Print(FILE* out) const {
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) widths[c] = Width(columns_[c].header);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], Width(row[c]));
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      std::string pad(widths[c] - std::min(widths[c], Width(cell)), ' ');
      if (c > 0) text += "  ";
      if (columns_[c].right) {
        text += pad + cell;
      } else {
        text += cell;
        if (c + 1 < columns_.size()) text += pad;
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    std::fprintf(out, "%s\n", text.c_str());
  };
  std::vector<std::string> headers;
  for (const auto& col : columns_) headers.push_back(col.header);
  line(headers);
  for (const auto& row : rows_) line(row);
}

}  // namespace rpfs::cli
