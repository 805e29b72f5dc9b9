// rpfs metrics: Prometheus text format, read back by the Prometheus client library's own
// parser (python3-prometheus-client), with the values `rpfs du --json` reports.
#include <unistd.h>

#include <fstream>

#include "cli_fixture.h"

namespace rpfs::testing {
namespace {

constexpr char kParser[] = "/usr/bin/python3";

// The samples of a metrics text as {"name{label=value,...}": value}, parsed by
// prometheus_client.parser (which raises on anything malformed).
nlohmann::json Parse(const std::string& text, const std::string& dir) {
  const std::string path = dir + "/metrics.prom";
  std::ofstream(path) << text;
  auto r =
      RunCommand({kParser, "-c",
                  "import json, sys\n"
                  "from prometheus_client.parser import text_string_to_metric_families as parse\n"
                  "out = {}\n"
                  "for family in parse(open(sys.argv[1]).read()):\n"
                  "    for s in family.samples:\n"
                  "        labels = ','.join(k + '=' + v for k, v in sorted(s.labels.items()))\n"
                  "        out[s.name + '{' + labels + '}'] = s.value\n"
                  "print(json.dumps(out))\n",
                  path});
  EXPECT_EQ(r.exit_code, 0) << r.err << "\n" << text;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
}

class MetricsTest : public CliTest {
 protected:
  void SetUp() override {
    if (::access(kParser, X_OK) != 0 ||
        RunCommand({kParser, "-c", "import prometheus_client.parser"}).exit_code != 0) {
      GTEST_SKIP() << "needs python3-prometheus-client (scripts/install-deps.sh)";
    }
    CliTest::SetUp();
  }
};

TEST_F(MetricsTest, TheParserReadsWhatDuReports) {
  InitWithVm();
  ASSERT_EQ(R({"create", "vm", "a"}).exit_code, 0);
  WriteAt(img_, 0, PatternBytes(9, 1 << 20));
  ASSERT_EQ(R({"create", "vm", "b"}).exit_code, 0);
  // A second VM with a name the label syntax must escape, and a clone.
  ASSERT_EQ(R({"vm", "add", "we\"b\\01", "--disk", "vda=" + img_}).exit_code, 0);
  ASSERT_EQ(R({"create", "we\"b\\01", "only"}).exit_code, 0);
  ASSERT_EQ(R({"clone", "vm", "a", "c"}).exit_code, 0);
  auto none = R({"metrics"});
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_EQ(none.out.find("rpfs_verify_ok"), std::string::npos) << "no verify has run yet";
  ASSERT_EQ(R({"verify", "--sample", "40"}).exit_code, 0);

  auto r = R({"metrics"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json m = Parse(r.out, dir_ / "");
  auto du = nlohmann::json::parse(R({"du", "--json"}).out);
  ASSERT_FALSE(m.empty());

  EXPECT_EQ(m["rpfs_vm_rps{vm=vm}"], 2);
  EXPECT_EQ(m["rpfs_vm_rps{vm=we\"b\\01}"], 1) << r.out;
  for (const auto& vm : du["vms"]) {
    const std::string key = "{vm=" + vm["name"].get<std::string>() + "}";
    double logical = 0, stored = 0;
    for (const auto& rp : vm["rps"]) {
      logical += rp["logical_bytes"].get<double>();
      stored += rp["stored_bytes"].get<double>();
    }
    EXPECT_EQ(m["rpfs_vm_logical_bytes" + key].get<double>(), logical) << key;
    EXPECT_EQ(m["rpfs_vm_stored_bytes" + key].get<double>(), stored) << key;
    EXPECT_GT(m["rpfs_vm_newest_rp_timestamp_seconds" + key].get<double>(), 1.7e9);
    EXPECT_GE(m["rpfs_vm_newest_rp_age_seconds" + key].get<double>(), 0);
    EXPECT_GT(m["rpfs_vm_last_create_duration_seconds" + key].get<double>(), 0) << key;
  }
  // One RP: what deleting the VM's RPs frees is that RP's unique bytes.
  EXPECT_EQ(m["rpfs_vm_unique_bytes{vm=we\"b\\01}"].get<double>(),
            du["vms"][1]["rps"][0]["unique_bytes"].get<double>());
  const auto& store = du["store"];
  EXPECT_EQ(m["rpfs_store_chunks{}"].get<double>(), store["chunks"].get<double>());
  EXPECT_EQ(m["rpfs_store_chunk_raw_bytes{}"].get<double>(),
            store["chunk_raw_bytes"].get<double>());
  EXPECT_EQ(m["rpfs_store_chunk_stored_bytes{}"].get<double>(),
            store["chunk_stored_bytes"].get<double>());
  EXPECT_EQ(m["rpfs_store_logical_bytes{}"].get<double>(), store["logical_bytes"].get<double>());
  EXPECT_DOUBLE_EQ(m["rpfs_store_dedup_ratio{}"].get<double>(), store["dedup_ratio"].get<double>());
  EXPECT_DOUBLE_EQ(m["rpfs_store_compression_ratio{}"].get<double>(),
                   store["compression_ratio"].get<double>());
  EXPECT_GT(m["rpfs_store_disk_bytes{}"].get<double>(), 0);
  EXPECT_EQ(m["rpfs_clone_hydrated_ratio{clone=c,vm=vm}"], 0);
  EXPECT_EQ(m["rpfs_verify_ok{}"], 1);
  EXPECT_EQ(m["rpfs_verify_sample_percent{}"], 40);

  ASSERT_EQ(R({"hydrate", "vm", "c"}).exit_code, 0);
  m = Parse(R({"metrics"}).out, dir_ / "");
  EXPECT_EQ(m["rpfs_clone_hydrated_ratio{clone=c,vm=vm}"], 1);
}

TEST_F(MetricsTest, ANotAStoreFailsNamingIt) { ExpectError(R({"metrics"}), 3, {"store"}); }

}  // namespace
}  // namespace rpfs::testing
