#include "util/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace rpfs {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  for (const char* s : {"", "plain ascii", "tab\tand\nnewline\x01\x7f", "Ünïcödé", "名前",
                        "\xF0\x9F\x9A\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
  }
  EXPECT_TRUE(IsValidUtf8(std::string("nul\0inside", 10)));
}

TEST(Utf8Test, RejectsMalformedText) {
  for (const char* s : {
           "bad\xff\xfename",   // bytes never in UTF-8
           "\x80",              // lone continuation byte
           "\xC0\xAF",          // overlong '/'
           "\xC1\xBF",          // overlong
           "\xE0\x80\xAF",      // overlong 3-byte
           "\xF0\x80\x80\xAF",  // overlong 4-byte
           "\xED\xA0\x80",      // surrogate U+D800
           "\xED\xBF\xBF",      // surrogate U+DFFF
           "\xF4\x90\x80\x80",  // above U+10FFFF
           "\xF5\x80\x80\x80",  // lead byte beyond the range
           "\xC3",              // truncated 2-byte
           "\xE2\x82",          // truncated 3-byte
           "\xF0\x9F\x9A",      // truncated 4-byte
           "\xE2\x28\xA1",      // bad continuation
           "ok\xC3(",           // bad continuation after valid text
       }) {
    EXPECT_FALSE(IsValidUtf8(s)) << ::testing::PrintToString(std::string(s));
  }
}

}  // namespace
}  // namespace rpfs
