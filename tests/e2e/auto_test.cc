// rpfs auto and the schedules of `policy set --every`, on a pinned clock (RPFS_TEST_NOW):
// a month of hourly runs against a model built on the retention engine, a three-day
// outage caught up by one RP, dry runs, a failing VM, and the errors of `policy set`.
#include <filesystem>
#include <set>

#include "cli_fixture.h"
#include "rp/retention.h"
#include "util/clock.h"
#include "util/lock_file.h"

namespace rpfs::testing {
namespace {

constexpr int64_t kSec = 1'000'000;
constexpr int64_t kHour = 3600 * kSec;
constexpr int64_t kDay = 24 * kHour;

class AutoTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(R({"init"}).exit_code, 0);
    small_ = dir_ / "web.raw";
    MakeSparseFile(small_, 1 << 20);
    WriteAt(small_, 0, TextBytes(7, 64 << 10));
    auto r = R({"vm", "add", "web", "--disk", "vda=" + small_});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  RunResult Auto(int64_t now_us, std::vector<std::string> args = {}) {
    args.insert(args.begin(), "auto");
    return R(args, {{"RPFS_TEST_NOW", FormatIsoUtc(now_us)}});
  }

  // The RPs of `vm` as name -> creation time.
  std::map<std::string, int64_t> Rps(const std::string& vm) {
    auto r = R({"list", vm, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, int64_t> out;
    for (const auto& rp : nlohmann::json::parse(r.out)) {
      out[rp["name"]] = *ParseIsoUtc(rp["created"].get<std::string>());
    }
    return out;
  }

  std::string small_;
};

// The model: an hourly schedule takes an RP when the newest one is from an earlier clock
// hour; then the retention engine (rp::ApplyRetention, itself checked against a reference
// in retention_test.cc) decides what stays.
void ModelRun(std::map<std::string, int64_t>* rps, int64_t now, const RetentionPolicy& policy) {
  int64_t newest = INT64_MIN;
  for (const auto& [name, t] : *rps) newest = std::max(newest, t);
  if (newest == INT64_MIN || newest / kHour < now / kHour) {
    (*rps)["auto-" + FormatIsoUtc(now)] = now / kSec * kSec;
  }
  std::vector<rp::RetentionInput> in;
  uint64_t id = 0;
  for (const auto& [name, t] : *rps) in.push_back({name, ++id, t, false});
  for (const auto& d : rp::ApplyRetention(in, policy)) {
    if (!d.keep) rps->erase(d.name);
  }
}

TEST_F(AutoTest, AMonthOfHourlyRunsTakesWhatTheScheduleAsksAndKeepsWhatThePolicyKeeps) {
  auto r = R({"policy", "set", "web", "--every", "1h", "--keep-hourly", "24", "--keep-daily", "7",
              "--keep-weekly", "4", "--keep-monthly", "6"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  RetentionPolicy policy;
  policy.keep_hourly = 24;
  policy.keep_daily = 7;
  policy.keep_weekly = 4;
  policy.keep_monthly = 6;

  std::map<std::string, int64_t> model;
  const int64_t start = *ParseIsoUtc("2026-11-01T00:00:00Z");
  int created = 0;
  for (int hour = 0; hour < 30 * 24; ++hour) {
    // A timer fires a few seconds after the hour (and late by up to a minute); every fifth
    // hour a second run half an hour later must find nothing due.
    std::vector<int64_t> runs = {start + hour * kHour + (3 + hour * 7 % 60) * kSec};
    if (hour % 5 == 0) runs.push_back(runs[0] + kHour / 2);
    for (int64_t now : runs) {
      ModelRun(&model, now, policy);
      r = Auto(now);
      ASSERT_EQ(r.exit_code, 0) << FormatIsoUtc(now) << ": " << r.err;
      bool took = r.out.find("created ") != std::string::npos;
      EXPECT_EQ(took, now == runs[0]) << FormatIsoUtc(now) << ": " << r.out;
      created += took ? 1 : 0;
    }
    if (hour % 24 == 23) {
      ASSERT_EQ(Rps("web"), model) << "day " << hour / 24;
    }
  }
  EXPECT_EQ(created, 30 * 24);
  // What a month leaves: 24 hourly, plus the dailies, weeklies and monthlies beyond them.
  EXPECT_EQ(Rps("web"), model);
  EXPECT_GE(model.size(), 24u + 6u);
}

TEST_F(AutoTest, AThreeDayOutageIsCaughtUpByOneRpNotSeventyTwo) {
  ASSERT_EQ(R({"policy", "set", "web", "--every", "1h", "--keep-last", "500"}).exit_code, 0);
  const int64_t start = *ParseIsoUtc("2026-11-02T00:00:05Z");
  for (int hour = 0; hour < 6; ++hour) ASSERT_EQ(Auto(start + hour * kHour).exit_code, 0);
  ASSERT_EQ(Rps("web").size(), 6u);

  const int64_t back = start + 5 * kHour + 3 * kDay + 17 * 60 * kSec;  // the host is back
  auto r = Auto(back);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Rps("web").size(), 7u) << r.out;
  EXPECT_NE(r.out.find("created         web/auto-" + FormatIsoUtc(back)), std::string::npos)
      << r.out;
  r = Auto(back + 20 * 60 * kSec);  // the timer's next run in the same hour
  EXPECT_NE(r.out.find("wait            web  (next RP due " +
                       FormatIsoUtc(back / kHour * kHour + kHour) + ")"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Rps("web").size(), 7u);
  ASSERT_EQ(Auto(back + kHour).exit_code, 0);
  EXPECT_EQ(Rps("web").size(), 8u);
}

TEST_F(AutoTest, ADryRunChangesNothingAndShowsExactlyWhatTheRunThenDoes) {
  ASSERT_EQ(
      R({"policy", "set", "web", "--every", "1d", "--at", "02:00", "--keep-last", "3"}).exit_code,
      0);
  const int64_t day0 = *ParseIsoUtc("2026-11-02T02:10:00Z");
  for (int d = 0; d < 4; ++d) ASSERT_EQ(Auto(day0 + d * kDay).exit_code, 0);
  ASSERT_EQ(Rps("web").size(), 3u);

  const int64_t now = day0 + 4 * kDay;
  const std::string before = State();
  auto dry = Auto(now, {"--dry-run", "--json"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(State(), before);
  auto real = Auto(now, {"--json"});
  ASSERT_EQ(real.exit_code, 0) << real.err;
  auto dj = nlohmann::json::parse(dry.out), rj = nlohmann::json::parse(real.out);
  EXPECT_TRUE(dj["dry_run"]);
  EXPECT_EQ(dj["actions"], rj["actions"]);
  // Created one, removed the oldest: the newest three stay.
  std::set<std::pair<std::string, std::string>> acts;
  for (const auto& a : rj["actions"])
    acts.emplace(a["action"].get<std::string>(), a["rp"].get<std::string>());
  EXPECT_EQ(acts, (std::set<std::pair<std::string, std::string>>{
                      {"create", "auto-" + FormatIsoUtc(now)},
                      {"remove", "auto-" + FormatIsoUtc(day0 + kDay)}}));
  // The text form says "would" in a dry run.
  auto text = Auto(now + kDay, {"--dry-run"});
  EXPECT_NE(text.out.find("would create"), std::string::npos) << text.out;
}

TEST_F(AutoTest, AVmThatFailsDoesNotStopTheOthersAndTheExitCodeSaysWhy) {
  const std::string gone = dir_ / "gone.raw";
  MakeSparseFile(gone, 1 << 20);
  ASSERT_EQ(R({"vm", "add", "bad", "--disk", "vda=" + gone}).exit_code, 0);
  for (const char* vm : {"bad", "web"}) {
    ASSERT_EQ(R({"policy", "set", vm, "--every", "1h", "--keep-last", "2"}).exit_code, 0);
  }
  const int64_t t = *ParseIsoUtc("2026-11-03T00:00:00Z");
  for (int h = 0; h < 3; ++h) ASSERT_EQ(Auto(t + h * kHour).exit_code, 0);
  std::filesystem::remove(gone);

  auto r = Auto(t + 3 * kHour);
  ExpectError(r, 3, {"gone.raw"});
  EXPECT_NE(r.out.find("create-failed   bad/auto-"), std::string::npos) << r.out;
  EXPECT_EQ(Rps("web").size(), 2u);  // web took its RP and was pruned
  EXPECT_EQ(Rps("web").count("auto-" + FormatIsoUtc(t + 3 * kHour)), 1u);
  EXPECT_EQ(Rps("bad").size(), 2u);  // bad kept its two: nothing new, nothing lost
}

TEST_F(AutoTest, VmsWithoutAScheduleAreLeftAloneAndOneNamedSaysSo) {
  ASSERT_EQ(R({"vm", "add", "plain", "--disk", "vda=" + small_}).exit_code, 0);
  ASSERT_EQ(R({"policy", "set", "web", "--every", "6h"}).exit_code, 0);
  auto r = Auto(*ParseIsoUtc("2026-11-03T07:00:00Z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Rps("plain").size(), 0u);
  EXPECT_EQ(Rps("web").size(), 1u);
  r = Auto(*ParseIsoUtc("2026-11-03T07:00:00Z"), {"plain"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("skip            plain  (no schedule or keep rule"), std::string::npos)
      << r.out;
  ExpectError(Auto(0, {"nosuchvm"}), 3, {"nosuchvm"});
}

TEST_F(AutoTest, ASecondRunAtTheSameTimeIsRefusedRatherThanTakingASecondRp) {
  ASSERT_EQ(R({"policy", "set", "web", "--every", "1h"}).exit_code, 0);
  const int64_t t = *ParseIsoUtc("2026-11-03T05:00:10Z");
  {
    auto held = LockFile::Acquire(store() + "/auto.lock", "test");  // a run in progress
    ASSERT_TRUE(held.ok()) << held.status().ToString();
    ExpectError(Auto(t), 5, {"rpfs auto", "in use by pid"});
    EXPECT_EQ(Rps("web").size(), 0u);
    EXPECT_EQ(Auto(t, {"--dry-run"}).exit_code, 0);  // a dry run changes nothing: no lock
  }
  EXPECT_EQ(Auto(t).exit_code, 0);
  EXPECT_EQ(Rps("web").size(), 1u);
}

TEST_F(AutoTest, PolicySetRefusesABadScheduleNamingItAndKeepsTheOldOne) {
  ASSERT_EQ(
      R({"policy", "set", "web", "--every", "1d", "--at", "02:00", "--keep-daily", "7"}).exit_code,
      0);
  auto show = R({"policy", "show", "web"});
  EXPECT_NE(show.out.find("--every 1d --at 02:00 --keep-daily 7"), std::string::npos) << show.out;
  const std::string before = R({"policy", "show", "--json"}).out;
  ExpectError(R({"policy", "set", "web", "--every", "30m"}), 2, {"shorter than an hour"});
  ExpectError(R({"policy", "set", "web", "--every", "1d", "--at", "24:00"}), 2,
              {"--at 24:00", "--every"});
  ExpectError(R({"policy", "set", "web", "--every", "1d", "--at", "2pm"}), 2, {"invalid time"});
  ExpectError(R({"policy", "set", "web", "--at", "02:00"}), 2, {"needs --every"});
  EXPECT_EQ(R({"policy", "show", "--json"}).out, before);
  // A schedule alone keeps every RP: prune of that VM needs rules, --all-vms skips it.
  ASSERT_EQ(R({"policy", "set", "web", "--every", "1d"}).exit_code, 0);
  ExpectError(R({"prune", "web"}), 2, {"no stored keep rule"});
  EXPECT_EQ(R({"prune", "--all-vms"}).exit_code, 0);
}

}  // namespace
}  // namespace rpfs::testing
