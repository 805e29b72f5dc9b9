// rpfs metrics: the store and its VMs in Prometheus text format (version 0.0.4), for
// node_exporter's textfile collector (the timer units write it after each run when
// RPFS_METRICS_FILE is set). The figures are those of `rpfs du` (docs/cli.md, "Metrics").
#include <charconv>
#include <cstdio>
#include <map>

#include "cli/command.h"
#include "cli/common.h"
#include "util/clock.h"

namespace rpfs::cli {
namespace {

// A label value as the format wants it: backslash, double quote and newline escaped.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `v` (0.0037, not 0.0036979999999999999).
std::string Number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

double Seconds(int64_t us) { return static_cast<double>(us) / 1e6; }

// The samples of one metric family, printed together under their HELP and TYPE lines.
class Families {
 public:
  void Add(const std::string& name, const std::string& help, const std::string& labels,
           double value) {
    Family& f = families_[name];
    if (f.help.empty()) {
      f.help = help;
      order_.push_back(name);
    }
    f.samples += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Number(value) + "\n";
  }
  std::string Text() const {
    std::string out;
    for (const auto& name : order_) {
      const Family& f = families_.at(name);
      out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " gauge\n" + f.samples;
    }
    return out;
  }

 private:
  struct Family {
    std::string help;
    std::string samples;
  };
  std::map<std::string, Family> families_;
  std::vector<std::string> order_;
};

class MetricsVerb final : public CliVerb {
 public:
  void Declare(CLI::App*, Context&) override {}

  int Run(const Context& ctx) override {
    auto repo = ctx.OpenRepo();
    if (!repo.ok()) return ctx.Fail(repo.status());
    Families m;
    Status s = Collect(**repo, &m);
    if (!s.ok()) return ctx.Fail(s);
    std::fputs(m.Text().c_str(), ctx.out);
    return kExitOk;
  }

 private:
  static Status Collect(Repository& repo, Families* m) {
    const int64_t now = NowMicros();
    RPFS_ASSIGN_OR_RETURN(StoreSummary summary, repo.Summary());
    RPFS_ASSIGN_OR_RETURN(std::vector<VmInfo> vms, repo.ListVms());
    uint64_t logical = 0, referenced = 0;
    for (const auto& vm : vms) {
      const std::string label = "vm=\"" + LabelValue(vm.name) + "\"";
      RPFS_ASSIGN_OR_RETURN(std::vector<RpInfo> rps, repo.ListRps(vm.name));
      uint64_t vm_logical = 0, vm_stored = 0;
      const RpInfo* newest = nullptr;
      std::vector<std::string> names;
      for (const auto& rp : rps) {
        vm_logical += rp.logical_bytes;
        vm_stored += rp.stored_bytes;
        referenced += rp.data_bytes;
        names.push_back(rp.name);
        if (newest == nullptr || rp.created_us >= newest->created_us) newest = &rp;
      }
      logical += vm_logical;
      uint64_t unique = 0;
      if (!names.empty()) {
        RPFS_ASSIGN_OR_RETURN(unique, repo.BytesFreedByDeleting(vm.name, names));
      }
      m->Add("rpfs_vm_rps", "Recovery points of the VM.", label, static_cast<double>(rps.size()));
      m->Add("rpfs_vm_logical_bytes", "Sum of the logical sizes of the VM's RPs.", label,
             static_cast<double>(vm_logical));
      m->Add("rpfs_vm_stored_bytes",
             "Sum of the stored (compressed) bytes of the VM's RPs, as rpfs du shows each.", label,
             static_cast<double>(vm_stored));
      m->Add("rpfs_vm_unique_bytes", "Bytes deleting every RP of the VM would free.", label,
             static_cast<double>(unique));
      if (newest != nullptr) {
        m->Add("rpfs_vm_newest_rp_timestamp_seconds", "Creation time of the VM's newest RP.", label,
               Seconds(newest->created_us));
        m->Add("rpfs_vm_newest_rp_age_seconds", "Age of the VM's newest RP when this was written.",
               label, Seconds(now - newest->created_us));
        m->Add("rpfs_vm_last_create_duration_seconds",
               "How long the create of the VM's newest RP took (0: not recorded).", label,
               Seconds(static_cast<int64_t>(newest->create_duration_us)));
      }
    }
    RPFS_ASSIGN_OR_RETURN(std::vector<CloneInfo> clones, repo.ListClones(""));
    for (const auto& c : clones) {
      uint64_t size = 0, hydrated = 0;
      for (const auto& d : c.disks) {
        size += d.size;
        hydrated += c.hydrated ? d.size : d.hydrated_bytes;
      }
      const std::string label =
          "vm=\"" + LabelValue(c.vm) + "\",clone=\"" + LabelValue(c.name) + "\"";
      m->Add("rpfs_clone_hydrated_ratio", "Share of the clone's disks fetched locally (1: done).",
             label, c.hydrated ? 1.0 : Ratio(hydrated, size));
    }
    m->Add("rpfs_store_disk_bytes", "Bytes the store takes on disk (allocated).", "",
           static_cast<double>(summary.disk_bytes));
    m->Add("rpfs_store_free_bytes", "Free bytes on the store's file system.", "",
           static_cast<double>(summary.fs_free_bytes));
    m->Add("rpfs_store_chunks", "Distinct chunks stored.", "",
           static_cast<double>(summary.chunk_count));
    m->Add("rpfs_store_chunk_raw_bytes", "Uncompressed bytes of the stored chunks.", "",
           static_cast<double>(summary.chunk_raw_bytes));
    m->Add("rpfs_store_chunk_stored_bytes", "Stored (compressed) bytes of the chunks.", "",
           static_cast<double>(summary.chunk_stored_bytes));
    m->Add("rpfs_store_logical_bytes", "Sum of the logical sizes of every RP.", "",
           static_cast<double>(logical));
    m->Add("rpfs_store_dedup_ratio", "Data bytes the RPs reference per distinct chunk byte.", "",
           Ratio(referenced, summary.chunk_raw_bytes));
    m->Add("rpfs_store_compression_ratio", "Raw chunk bytes per stored chunk byte.", "",
           Ratio(summary.chunk_raw_bytes, summary.chunk_stored_bytes));
    RPFS_ASSIGN_OR_RETURN(std::optional<VerifyRecord> verify, repo.LastVerify());
    if (verify) {
      m->Add("rpfs_verify_last_timestamp_seconds", "When the store was last verified.", "",
             Seconds(verify->time_us));
      m->Add("rpfs_verify_ok", "1 if the last verify found no damage, else 0.", "",
             verify->ok ? 1.0 : 0.0);
      m->Add("rpfs_verify_sample_percent", "Share of the chunks the last verify re-hashed.", "",
             verify->sample_percent);
    }
    return Status::OK();
  }
};

}  // namespace

std::unique_ptr<CliVerb> NewMetricsVerb() { return std::make_unique<MetricsVerb>(); }

}  // namespace rpfs::cli
