// The generated texts (node_texts.h).
#include "fs/node_texts.h"

namespace rpfs::fs {

Result<std::string> InfoText(NodeContext& ctx, const RpInfo& rp) {
  ctx.texts_made.fetch_add(1, std::memory_order_relaxed);
  RPFS_ASSIGN_OR_RETURN(uint64_t unique, ctx.repo->BytesFreedByDeleting(rp.vm, {rp.name}));
  return FormatRpInfo(rp, unique);
}

std::string VmStatusText(NodeContext& ctx, const std::string& vm) {
  ctx.texts_made.fetch_add(1, std::memory_order_relaxed);
  return ctx.ops->StatusText(vm);
}

Result<std::string> PrunePreviewText(NodeContext& ctx, const std::string& vm) {
  ctx.texts_made.fetch_add(1, std::memory_order_relaxed);
  RPFS_ASSIGN_OR_RETURN(auto policy, ctx.repo->GetPolicy(vm));
  if (!policy) {
    return "policy: (none)\n# set one with: rpfs policy set " + vm + " --keep-daily 7 ...\n";
  }
  if (policy->empty()) {  // a schedule alone: nothing would be removed
    return "policy: " + policy->ToString() + "\n# no keep rule: prune removes nothing\n";
  }
  RPFS_ASSIGN_OR_RETURN(PruneResult r, ctx.repo->Prune(vm, *policy, /*dry_run=*/true));
  std::string out = "policy: " + policy->ToString() + "\n";
  size_t removed = 0;
  for (const auto& e : r.entries) {
    std::string why;
    for (const auto& reason : e.reasons) why += (why.empty() ? "" : ",") + reason;
    out += std::string(e.keep ? "keep " : "remove ") + e.rp + (e.keep ? " " + why : "") + "\n";
    removed += e.keep ? 0 : 1;
  }
  out += "would_remove: " + std::to_string(removed) + "\n";
  out += "would_free_bytes: " + std::to_string(r.bytes_freed) + "\n";
  return out;
}

Result<std::string> CloneStatusText(NodeContext& ctx, const std::string& vm,
                                    const std::string& clone) {
  ctx.texts_made.fetch_add(1, std::memory_order_relaxed);
  RPFS_ASSIGN_OR_RETURN(CloneInfo c, ctx.repo->GetClone(vm, clone));
  uint64_t done = 0, total = 0;
  for (const auto& d : c.disks) {
    done += d.hydrated_bytes;
    total += d.size;
  }
  std::string out = "clone: " + c.name + "\nrp: " + c.rp + "\n";
  out += "state: " + std::string(c.hydrated ? "hydrated" : "hydrating") + "\n";
  out += "hydrated_bytes: " + std::to_string(done) + "\ntotal_bytes: " + std::to_string(total) +
         "\npercent: " + std::to_string(total == 0 ? 100 : done * 100 / total) + "\n";
  for (const auto& d : c.disks) {
    out += "disk: " + d.name + " " + std::to_string(d.hydrated_bytes) + "/" +
           std::to_string(d.size) + " " + d.path + "\n";
  }
  return out;
}

}  // namespace rpfs::fs
