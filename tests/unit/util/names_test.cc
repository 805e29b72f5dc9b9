#include "rpfs/names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/status_matchers.h"

namespace rpfs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(ValidateNameTest, AcceptsOrdinaryNames) {
  for (const char* name : {"web01", "a", "day-1_2024.05.01", "a.b", "x..", "my vm", "A~!@#$%^&*()",
                           "snap:2024-05-01T03:00"}) {
    Status s = ValidateName(name, "rp name");
    EXPECT_OK(s) << name << ": " << s.ToString();
  }
}

TEST(ValidateNameTest, AcceptsUtf8Names) {
  for (const char* name : {"Ünïcödé", "名前", "снимок-1", "\xF0\x9F\x9A\x80 launch"}) {
    Status s = ValidateName(name, "vm name");
    EXPECT_OK(s) << name << ": " << s.ToString();
  }
}

TEST(ValidateNameTest, RejectsEmptyNamingWhat) {
  Status s = ValidateName("", "rp name");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), AllOf(HasSubstr("rp name"), HasSubstr("empty")));
}

TEST(ValidateNameTest, LimitIs128Bytes) {
  EXPECT_OK(ValidateName(std::string(kMaxNameBytes, 'a'), "rp name"));
  Status s = ValidateName(std::string(kMaxNameBytes + 1, 'a'), "rp name");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), AllOf(HasSubstr("rp name"), HasSubstr("129 bytes"), HasSubstr("128")));
}

TEST(ValidateNameTest, LimitCountsBytesNotCharacters) {
  std::string e_acute = "\xC3\xA9";  // two bytes
  std::string ok, too_long;
  for (int i = 0; i < 64; ++i) ok += e_acute;
  too_long = ok + e_acute;
  EXPECT_OK(ValidateName(ok, "disk name"));
  EXPECT_TRUE(ValidateName(too_long, "disk name").IsInvalidArgument());
}

TEST(ValidateNameTest, RejectsSlashAnywhere) {
  for (const char* name : {"/", "a/b", "/a", "a/", "../x"}) {
    Status s = ValidateName(name, "vm name");
    EXPECT_TRUE(s.IsInvalidArgument()) << name;
    EXPECT_THAT(s.message(), HasSubstr("vm name")) << name;
  }
  EXPECT_THAT(ValidateName("a/b", "vm name").message(), HasSubstr("'/'"));
}

TEST(ValidateNameTest, RejectsNulInsideAString) {
  for (const std::string& name :
       {std::string("a\0b", 3), std::string("ab\0", 3), std::string("\0", 1)}) {
    Status s = ValidateName(name, "rp name");
    EXPECT_TRUE(s.IsInvalidArgument());
    EXPECT_THAT(s.message(), AllOf(HasSubstr("rp name"), HasSubstr("NUL")));
  }
}

TEST(ValidateNameTest, RejectsDotAndDotDot) {
  for (const char* name : {".", ".."}) {
    Status s = ValidateName(name, "rp name");
    EXPECT_TRUE(s.IsInvalidArgument()) << name;
    EXPECT_THAT(s.message(), AllOf(HasSubstr("rp name"), HasSubstr("'.' and '..'")));
  }
}

TEST(ValidateNameTest, RejectsLeadingDotReservedForControlFiles) {
  for (const char* name : {".control", ".status", ".clones", ".hidden", "...", ".a.b"}) {
    Status s = ValidateName(name, "clone name");
    EXPECT_TRUE(s.IsInvalidArgument()) << name;
    EXPECT_THAT(s.message(), AllOf(HasSubstr("clone name"), HasSubstr("start with '.'")));
  }
}

TEST(ValidateNameTest, RejectsEveryControlCharacter) {
  for (int c = 1; c < 0x20; ++c) {
    std::string name = "a" + std::string(1, static_cast<char>(c)) + "b";
    Status s = ValidateName(name, "rp name");
    EXPECT_TRUE(s.IsInvalidArgument()) << c;
    EXPECT_THAT(s.message(), AllOf(HasSubstr("rp name"), HasSubstr("control"))) << c;
  }
  Status del = ValidateName("a\x7f", "rp name");
  EXPECT_TRUE(del.IsInvalidArgument());
  EXPECT_THAT(del.message(), HasSubstr("control"));
}

TEST(ValidateNameTest, QuotesTheOffendingNameInTheMessage) {
  Status s = ValidateName("bad/name", "rp name");
  EXPECT_THAT(s.message(), HasSubstr("'bad/name'"));
}

}  // namespace
}  // namespace rpfs

namespace rpfs {
namespace {

TEST(NamesEscapeTest, ControlCharactersAreEscapedInTheMessage) {
  Status s = ValidateName("a\nb\x1b", "rp name");
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("'a\\x0ab\\x1b'"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

TEST(DescriptionTest, UpTo1024BytesOfOneLineAreAccepted) {
  EXPECT_OK(ValidateDescription(""));
  EXPECT_OK(ValidateDescription("before upgrade\tto 12"));
  EXPECT_OK(ValidateDescription(std::string(kMaxDescriptionBytes, 'x')));
}

TEST(DescriptionTest, LongerOrMultiLineDescriptionsAreRefusedNamingTheLimit) {
  Status s = ValidateDescription(std::string(1 << 20, 'x'));
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "invalid description: 1048576 bytes, at most 1024 allowed");
  s = ValidateDescription("one\nparent: forged");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("control characters"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace rpfs
