// rpfs du [VM] [--json]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"
#include "cli/progress.h"
#include "cli/table.h"

namespace rpfs::cli {
namespace {

class DuVerb final : public VmListingVerb {
 public:
  int List(const Context& ctx, Repository& repo) override {
    auto vms = SelectVms(repo, vm_);
    if (!vms.ok()) return ctx.Fail(vms.status());
    auto summary = repo.Summary();
    if (!summary.ok()) return ctx.Fail(summary.status());
    nlohmann::json j;
    j["vms"] = nlohmann::json::array();
    for (const auto& vm : *vms) {
      auto jvm = VmRows(ctx, repo, vm);
      if (!jvm.ok()) return ctx.Fail(jvm.status());
      j["vms"].push_back(*jvm);
    }
    if (!ctx.json) table_.Print(ctx.out);
    PrintTotals(ctx, *summary, &j);
    return kExitOk;
  }

 private:
  // Prints (or returns as JSON) a VM's RPs and adds them to the totals.
  Result<nlohmann::json> VmRows(const Context& ctx, const Repository& repo, const VmInfo& vm) {
    RPFS_ASSIGN_OR_RETURN(std::vector<RpInfo> rps, repo.ListRps(vm.name));
    nlohmann::json jvm = {{"name", JsonText(vm.name)}, {"rps", nlohmann::json::array()}};
    for (const auto& rp : rps) {
      RPFS_ASSIGN_OR_RETURN(uint64_t unique, repo.BytesFreedByDeleting(vm.name, {rp.name}));
      logical_ += rp.logical_bytes;
      referenced_ += rp.data_bytes;
      if (ctx.json) {
        jvm["rps"].push_back({{"name", JsonText(rp.name)},
                              {"logical_bytes", rp.logical_bytes},
                              {"data_bytes", rp.data_bytes},
                              {"stored_bytes", rp.stored_bytes},
                              {"added_bytes", rp.added_bytes},
                              {"unique_bytes", unique}});
      } else {
        table_.Row({vm.name, rp.name, HumanBytes(rp.logical_bytes), HumanBytes(rp.data_bytes),
                    HumanBytes(rp.stored_bytes), HumanBytes(rp.added_bytes), HumanBytes(unique)});
      }
    }
    return jvm;
  }

  void PrintTotals(const Context& ctx, const StoreSummary& s, nlohmann::json* j) const {
    double dedup = Ratio(referenced_, s.chunk_raw_bytes);
    double compression = Ratio(s.chunk_raw_bytes, s.chunk_stored_bytes);
    if (ctx.json) {
      (*j)["store"] = {{"disk_bytes", s.disk_bytes},
                       {"chunks", s.chunk_count},
                       {"chunk_raw_bytes", s.chunk_raw_bytes},
                       {"chunk_stored_bytes", s.chunk_stored_bytes},
                       {"pages", s.page_count},
                       {"page_bytes", s.page_bytes},
                       {"logical_bytes", logical_},
                       {"referenced_bytes", referenced_},
                       {"dedup_ratio", dedup},
                       {"compression_ratio", compression}};
      ctx.PrintJson(*j);
      return;
    }
    std::fprintf(ctx.out,
                 "\nstore: %s on disk; %llu chunks (%s raw, %s stored), %llu map pages (%s)\n",
                 HumanBytes(s.disk_bytes).c_str(), static_cast<unsigned long long>(s.chunk_count),
                 HumanBytes(s.chunk_raw_bytes).c_str(), HumanBytes(s.chunk_stored_bytes).c_str(),
                 static_cast<unsigned long long>(s.page_count), HumanBytes(s.page_bytes).c_str());
    std::fprintf(ctx.out,
                 "logical %s, data %s; dedup %.2fx, compression %.2fx, logical/on-disk %.2fx\n",
                 HumanBytes(logical_).c_str(), HumanBytes(referenced_).c_str(), dedup, compression,
                 Ratio(logical_, s.disk_bytes));
  }

  uint64_t logical_ = 0;
  uint64_t referenced_ = 0;
  Table table_{{{"VM"},
                {"RP"},
                {"LOGICAL", true},
                {"DATA", true},
                {"STORED", true},
                {"ADDED", true},
                {"UNIQUE", true}}};
};

}  // namespace

std::unique_ptr<CliVerb> NewDuVerb() { return std::make_unique<DuVerb>(); }

}  // namespace rpfs::cli
