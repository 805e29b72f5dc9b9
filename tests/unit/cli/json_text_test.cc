#include "cli/json_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace rpfs::cli {
namespace {

// The bytes a JsonText value stands for, as a script reading the output gets them back.
std::string BytesOf(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  std::string out;
  for (const auto& b : j) out.push_back(static_cast<char>(b.get<int>()));
  return out;
}

TEST(JsonTextTest, Utf8IsAString) {
  EXPECT_EQ(JsonText("web01"), nlohmann::json("web01"));
  EXPECT_EQ(JsonText("Ünïcödé"), nlohmann::json("Ünïcödé"));
  EXPECT_EQ(JsonText(""), nlohmann::json(""));
}

TEST(JsonTextTest, ControlCharactersAndQuotesAreEscapedByTheWriter) {
  std::string text = "a\"b\\c\td\ne\x01";
  auto j = JsonText(text);
  ASSERT_TRUE(j.is_string());
  EXPECT_EQ(j.dump(), R"("a\"b\\c\td\ne\u0001")");
  EXPECT_EQ(nlohmann::json::parse(j.dump()).get<std::string>(), text);
}

TEST(JsonTextTest, NotUtf8IsAnArrayOfByteValues) {
  auto j = JsonText("bad\xff\xfename");
  EXPECT_EQ(j.dump(), "[98,97,100,255,254,110,97,109,101]");
  EXPECT_EQ(BytesOf(j), "bad\xff\xfename");
  // A surrogate encoded in UTF-8 form is not UTF-8 either (the writer would refuse it).
  EXPECT_TRUE(JsonText("\xED\xA0\x80").is_array());
}

TEST(JsonTextTest, TextsKeepsOrderAndConvention) {
  auto j = JsonTexts({"ok", "\xC0"});
  EXPECT_EQ(j.dump(), R"(["ok",[192]])");
}

// Property: any byte string dumps without throwing and parses back to the same bytes.
TEST(JsonTextTest, RandomBytesRoundTrip) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string s(rng() % 12, '\0');
    for (auto& c : s) {
      // Bias towards the bytes that matter: ASCII, lead and continuation bytes.
      uint32_t r = rng();
      c = static_cast<char>(r % 3 == 0 ? (0x80 | (r >> 8) % 64) : (r >> 8) % 256);
    }
    std::string dumped;
    ASSERT_NO_THROW(dumped = JsonText(s).dump()) << ::testing::PrintToString(s);
    EXPECT_EQ(BytesOf(nlohmann::json::parse(dumped)), s) << ::testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace rpfs::cli
