#include "control/command.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace rpfs::control {
namespace {

Command Parse(const std::string& text) {
  auto c = ParseCommand(text);
  EXPECT_OK(c) << "'" << text << "': " << c.status().ToString();
  return c.ok() ? *c : Command{};
}

void ExpectInvalid(const std::string& text, const std::string& why) {
  auto c = ParseCommand(text);
  ASSERT_FALSE(c.ok()) << "accepted: '" << text << "'";
  EXPECT_TRUE(c.status().IsInvalidArgument()) << c.status().ToString();
  EXPECT_NE(c.status().message().find(why), std::string::npos)
      << "'" << text << "': " << c.status().message();
}

TEST(CommandTest, ParsesEveryVerb) {
  Command c = Parse("create rp1 memory quiesce description=\"before the upgrade\"\n");
  EXPECT_EQ(c.verb, Verb::kCreate);
  EXPECT_EQ(c.rp, "rp1");
  EXPECT_TRUE(c.memory);
  EXPECT_TRUE(c.quiesce);
  EXPECT_EQ(c.description, "before the upgrade");
  c = Parse("rollback rp1 keep-current");
  EXPECT_EQ(c.verb, Verb::kRollback);
  EXPECT_TRUE(c.keep_current);
  c = Parse("rollback rp1 stop timeout=30 force start");
  EXPECT_TRUE(c.stop && c.force && c.start);
  EXPECT_FALSE(c.keep_current);
  EXPECT_EQ(c.timeout, "30");
  c = Parse("clone rp1 web-copy define");
  EXPECT_EQ(c.verb, Verb::kClone);
  EXPECT_EQ(c.target, "web-copy");
  EXPECT_TRUE(c.define);
  EXPECT_EQ(Parse("delete rp1").verb, Verb::kDelete);
  c = Parse("rename rp1 rp2");
  EXPECT_EQ(c.verb, Verb::kRename);
  EXPECT_EQ(c.target, "rp2");
  c = Parse("delete-clone web-copy");
  EXPECT_EQ(c.verb, Verb::kDeleteClone);
  EXPECT_EQ(c.target, "web-copy");
  EXPECT_TRUE(c.rp.empty());
  EXPECT_EQ(Parse("protect rp1").verb, Verb::kProtect);
  EXPECT_EQ(Parse("unprotect rp1").verb, Verb::kUnprotect);
}

TEST(CommandTest, SpacingTabsAndFlagOrderDoNotMatter) {
  Command c = Parse("  create\trp1   quiesce  memory ");
  EXPECT_TRUE(c.memory && c.quiesce);
  EXPECT_EQ(Parse("rollback rp1").rp, "rp1");
  // A first positional that looks like a flag is still the name.
  EXPECT_EQ(Parse("create memory").rp, "memory");
  EXPECT_FALSE(Parse("create memory").memory);
}

TEST(CommandTest, BareValuesRunToTheNextBlank) {
  EXPECT_EQ(Parse("create rp1 description=nightly memory").description, "nightly");
  EXPECT_TRUE(Parse("create rp1 description=nightly memory").memory);
  EXPECT_EQ(Parse("rollback rp1 stop timeout=30").timeout, "30");
}

TEST(CommandTest, QuotedValuesKeepSpacesAndEscapes) {
  Command c = Parse(R"(create rp description="say \"hi\" \\ bye")");
  EXPECT_EQ(c.description, R"(say "hi" \ bye)");
  EXPECT_EQ(Parse("create rp description=\"\"").description, "");
}

TEST(CommandTest, CanonicalFormParsesBackToTheSame) {
  for (const char* text : {"create rp1 memory description=\"a \\\"b\\\"\"",
                           "rollback x keep-current", "rollback x stop timeout=60 start force",
                           "clone a b define", "delete-clone c", "rename a b", "protect p"}) {
    Command c = Parse(text);
    Command again = Parse(c.ToString());
    EXPECT_EQ(again.ToString(), c.ToString()) << text;
    EXPECT_EQ(again.description, c.description);
  }
}

TEST(CommandTest, MalformedCommandsAreRejectedWithTheReason) {
  ExpectInvalid("", "empty");
  ExpectInvalid("\n", "empty");
  ExpectInvalid("   ", "empty");
  ExpectInvalid("explode rp1", "unknown verb 'explode'");
  ExpectInvalid("ROLLBACK rp1", "unknown verb");
  ExpectInvalid("rollback", "needs a rp name");
  ExpectInvalid("clone rp1", "needs a clone name");
  ExpectInvalid("rollback rp1 rp2", "unexpected 'rp2'");
  ExpectInvalid("delete rp1 keep-current", "unexpected 'keep-current'");
  ExpectInvalid("create rp1 memory memory", "memory given twice");
  ExpectInvalid("create rp1 description=\"a\" description=\"b\"", "given twice");
  ExpectInvalid("rollback rp1 description=\"x\"", "takes no description=");
  ExpectInvalid("create rp1 description=un\"quoted", "is written description=\"...\"");
  ExpectInvalid("create rp1 description=a=b", "is written description=");
  ExpectInvalid("create rp1 description=", "value of description= is missing");
  ExpectInvalid("create rp1 description= x", "value of description= is missing");
  ExpectInvalid("create rp1 description=\"open", "unterminated quote");
  ExpectInvalid("create rp1 description=\"a\"b", "closing quote");
  ExpectInvalid("create rp1 description=\"\\n\"", "escaped");
  ExpectInvalid("create \"rp1\"", "quotes are only allowed");
  ExpectInvalid("create =\"x\"", "without a key");
  ExpectInvalid("=", "without a key");
  ExpectInvalid("description=\"x\" create rp", "start with a verb");
  ExpectInvalid("rollback a/b", "'/'");
  ExpectInvalid("rollback ..", "rp name");
  ExpectInvalid("rollback .hidden", "rp name");
  ExpectInvalid("clone rp1 .clones", "clone name");
  ExpectInvalid(std::string("rollback rp\0x", 13), "NUL");
  ExpectInvalid("rollback rp1\nrollback rp2", "one command per write");
  ExpectInvalid("rollback rp1\n\n", "control character");
  ExpectInvalid("rollback " + std::string(200, 'a'), "rp name");
  ExpectInvalid(std::string(5000, 'x'), "longer than 4096 bytes");
}

// docs/control-file.md, "Commands only the CLI gives": the control-file language is kept
// as documented, so these are refused there and written the CLI's way in `.status`.
TEST(CommandTest, CliOnlyFormsAreRefusedByTheControlFile) {
  ExpectInvalid("delete one two", "unexpected 'two' after delete");
  ExpectInvalid("prune", "unknown verb 'prune'");
  ExpectInvalid("hydrate c",
                "unknown verb 'hydrate' (create, rollback, clone, delete, rename, "
                "delete-clone, protect, unprotect)");
  Command del;
  del.verb = Verb::kDelete;
  del.more_rps = {"b", "a", "b"};
  EXPECT_EQ(del.ToString(), "delete b a");
  del.rp = "a";
  EXPECT_EQ(del.ToString(), "delete a b");
  Command hydrate;
  hydrate.verb = Verb::kHydrate;
  hydrate.target = "copy";
  EXPECT_EQ(hydrate.ToString(), "hydrate copy");
}

TEST(CommandTest, GarbageNeverParses) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  EXPECT_FALSE(ParseCommand(garbage).ok());
}

}  // namespace
}  // namespace rpfs::control
