// A text table whose columns are as wide as their widest cell, so long VM and RP names do
// not push the other columns out of line (`list`, `du`, `vm list`, `clone-list`).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace rpfs::cli {

class Table {
 public:
  struct Column {
    std::string header;
    bool right = false;  // numbers: aligned right
  };
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  void Row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // Two spaces between columns; the last column is not padded (no trailing blanks).
  void Print(FILE* out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace rpfs::cli
