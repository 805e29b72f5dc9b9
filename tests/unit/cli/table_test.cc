// Columns as wide as their widest cell: a long name moves the next column, never into it.
#include "cli/table.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace rpfs::cli {
namespace {

std::string Printed(const Table& t) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = ::open_memstream(&buf, &len);
  t.Print(f);
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

TEST(TableTest, ColumnsFitTheLongestCellAndNumbersAlignRight) {
  Table t({{"VM"}, {"RP"}, {"SIZE", true}});
  t.Row({"web01", "a-very-long-recovery-point-name-from-a-script", "1.0 GiB"});
  t.Row({"db", "x", "12 KiB"});
  EXPECT_EQ(Printed(t),
            "VM     RP                                                SIZE\n"
            "web01  a-very-long-recovery-point-name-from-a-script  1.0 GiB\n"
            "db     x                                               12 KiB\n");
}

TEST(TableTest, MultiByteNamesCountAsTheColumnsTheyTakeAndNoLineEndsInBlanks) {
  Table t({{"VM"}, {"DESCRIPTION"}});
  t.Row({"caf\xc3\xa9", ""});
  t.Row({"x", "d"});
  EXPECT_EQ(Printed(t),
            "VM    DESCRIPTION\n"
            "caf\xc3\xa9\n"
            "x     d\n");
}

}  // namespace
}  // namespace rpfs::cli
