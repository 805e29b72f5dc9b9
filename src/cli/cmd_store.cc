// rpfs init | verify | compact | du
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/progress.h"

namespace rpfs::cli {
namespace {

double Ratio(uint64_t a, uint64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

int RunDu(const Context& ctx, const std::string& only_vm) {
  auto repo = ctx.OpenRepo();
  if (!repo.ok()) return ctx.Fail(repo.status());
  std::vector<VmInfo> vms;
  if (only_vm.empty()) {
    auto all = (*repo)->ListVms();
    if (!all.ok()) return ctx.Fail(all.status());
    vms = std::move(*all);
  } else {
    auto vm = (*repo)->GetVm(only_vm);
    if (!vm.ok()) return ctx.Fail(vm.status());
    vms.push_back(std::move(*vm));
  }
  auto summary = (*repo)->Summary();
  if (!summary.ok()) return ctx.Fail(summary.status());
  nlohmann::json j;
  j["vms"] = nlohmann::json::array();
  uint64_t logical = 0, referenced = 0;
  if (!ctx.json) {
    std::fprintf(ctx.out, "%-20s %-24s %12s %12s %12s %12s %12s\n", "VM", "RP", "LOGICAL", "DATA",
                 "STORED", "ADDED", "UNIQUE");
  }
  for (const auto& vm : vms) {
    auto rps = (*repo)->ListRps(vm.name);
    if (!rps.ok()) return ctx.Fail(rps.status());
    nlohmann::json jvm = {{"name", vm.name}, {"rps", nlohmann::json::array()}};
    for (const auto& rp : *rps) {
      auto unique = (*repo)->BytesFreedByDeleting(vm.name, {rp.name});
      if (!unique.ok()) return ctx.Fail(unique.status());
      logical += rp.logical_bytes;
      referenced += rp.data_bytes;
      if (ctx.json) {
        jvm["rps"].push_back({{"name", rp.name},
                              {"logical_bytes", rp.logical_bytes},
                              {"data_bytes", rp.data_bytes},
                              {"stored_bytes", rp.stored_bytes},
                              {"added_bytes", rp.added_bytes},
                              {"unique_bytes", *unique}});
      } else {
        std::fprintf(ctx.out, "%-20s %-24s %12s %12s %12s %12s %12s\n", vm.name.c_str(),
                     rp.name.c_str(), HumanBytes(rp.logical_bytes).c_str(),
                     HumanBytes(rp.data_bytes).c_str(), HumanBytes(rp.stored_bytes).c_str(),
                     HumanBytes(rp.added_bytes).c_str(), HumanBytes(*unique).c_str());
      }
    }
    j["vms"].push_back(jvm);
  }
  const auto& s = *summary;
  double dedup = Ratio(referenced, s.chunk_raw_bytes);
  double compression = Ratio(s.chunk_raw_bytes, s.chunk_stored_bytes);
  if (ctx.json) {
    j["store"] = {{"disk_bytes", s.disk_bytes},
                  {"chunks", s.chunk_count},
                  {"chunk_raw_bytes", s.chunk_raw_bytes},
                  {"chunk_stored_bytes", s.chunk_stored_bytes},
                  {"pages", s.page_count},
                  {"page_bytes", s.page_bytes},
                  {"logical_bytes", logical},
                  {"referenced_bytes", referenced},
                  {"dedup_ratio", dedup},
                  {"compression_ratio", compression}};
    ctx.PrintJson(j);
  } else {
    std::fprintf(ctx.out,
                 "\nstore: %s on disk; %llu chunks (%s raw, %s stored), %llu map pages (%s)\n",
                 HumanBytes(s.disk_bytes).c_str(), static_cast<unsigned long long>(s.chunk_count),
                 HumanBytes(s.chunk_raw_bytes).c_str(), HumanBytes(s.chunk_stored_bytes).c_str(),
                 static_cast<unsigned long long>(s.page_count), HumanBytes(s.page_bytes).c_str());
    std::fprintf(ctx.out,
                 "logical %s, data %s; dedup %.2fx, compression %.2fx, logical/on-disk %.2fx\n",
                 HumanBytes(logical).c_str(), HumanBytes(referenced).c_str(), dedup, compression,
                 Ratio(logical, s.disk_bytes));
  }
  return kExitOk;
}

}  // namespace

void RegisterStoreCommands(CLI::App& app, Context& ctx, Action* action) {
  {
    auto* cmd = app.add_subcommand("init", "Create a new, empty store");
    auto chunk = std::make_shared<uint32_t>(0);
    auto level = std::make_shared<int>(0);
    cmd->add_option("--chunk-size", *chunk,
                    "Chunk size in bytes (power of two, 4 KiB..16 MiB; default 64 KiB)");
    auto* lopt = cmd->add_option("--compression-level", *level, "zstd level (-7..19, default 3)");
    cmd->callback([&ctx, action, chunk, level, lopt] {
      *action = [&ctx, chunk, level, lopt] {
        InitOptions opts;
        opts.chunk_size = *chunk;
        if (lopt->count() > 0) opts.compression_level = *level;
        auto repo = Repository::Init(ctx.store_dir, opts);
        if (!repo.ok()) return ctx.Fail(repo.status());
        auto s = (*repo)->Summary();
        std::fprintf(ctx.out, "initialised store %s (chunk size %u, zstd level %d)\n",
                     ctx.store_dir.c_str(), s.ok() ? s->chunk_size : 0,
                     s.ok() ? s->compression_level : 0);
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("verify", "Re-hash every chunk and check every reference");
    cmd->callback([&ctx, action] {
      *action = [&ctx] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        ProgressBar bar(ctx.err, "verify");
        auto result = (*repo)->Verify(bar.Callback());
        bar.Finish();
        if (!result.ok()) return ctx.Fail(result.status());
        if (ctx.json) {
          nlohmann::json j = {{"ok", result->ok()},
                              {"objects", result->objects},
                              {"bytes_hashed", result->bytes_hashed},
                              {"problems", result->problems},
                              {"damaged_rps", result->damaged_rps}};
          ctx.PrintJson(j);
        } else {
          for (const auto& p : result->problems) std::fprintf(ctx.err, "damaged: %s\n", p.c_str());
          for (const auto& r : result->damaged_rps)
            std::fprintf(ctx.err, "damaged rp: %s\n", r.c_str());
          std::fprintf(ctx.out, "verified %llu objects, %s hashed: %s\n",
                       static_cast<unsigned long long>(result->objects),
                       HumanBytes(result->bytes_hashed).c_str(), result->ok() ? "ok" : "DAMAGED");
        }
        return result->ok() ? kExitOk : kExitFailed;
      };
    });
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
  }
  {
    auto* cmd = app.add_subcommand("compact", "Reclaim the space of deleted data now");
    cmd->callback([&ctx, action] {
      *action = [&ctx] {
        auto repo = ctx.OpenRepo();
        if (!repo.ok()) return ctx.Fail(repo.status());
        auto before = (*repo)->Summary();
        Status s = (*repo)->Compact();
        if (!s.ok()) return ctx.Fail(s);
        auto after = (*repo)->Summary();
        if (before.ok() && after.ok()) {
          std::fprintf(ctx.out, "compacted: %s -> %s on disk\n",
                       HumanBytes(before->disk_bytes).c_str(),
                       HumanBytes(after->disk_bytes).c_str());
        }
        return kExitOk;
      };
    });
  }
  {
    auto* cmd = app.add_subcommand("du", "Space used per RP: logical, stored, added, unique");
    auto vm = std::make_shared<std::string>();
    cmd->add_option("vm", *vm, "Only this VM");
    cmd->add_flag("--json", ctx.json, "Machine-readable output");
    cmd->callback([&ctx, action, vm] { *action = [&ctx, vm] { return RunDu(ctx, *vm); }; });
  }
}

}  // namespace rpfs::cli
