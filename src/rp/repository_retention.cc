// Repository: stored retention policies and prune.
#include "format/keys.h"
#include "rp/repository_parts.h"
#include "rp/retention.h"

namespace rpfs {
namespace {

format::PolicyRecord ToRecord(const RetentionPolicy& p) {
  return {p.keep_last,   p.keep_hourly,    p.keep_daily, p.keep_weekly, p.keep_monthly,
          p.keep_yearly, p.keep_within_us, p.every_us,   p.at_us};
}

RetentionPolicy FromRecord(const format::PolicyRecord& r) {
  RetentionPolicy p;
  p.keep_last = r.keep_last;
  p.keep_hourly = r.keep_hourly;
  p.keep_daily = r.keep_daily;
  p.keep_weekly = r.keep_weekly;
  p.keep_monthly = r.keep_monthly;
  p.keep_yearly = r.keep_yearly;
  p.keep_within_us = r.keep_within_us;
  p.every_us = r.every_us;
  p.at_us = r.at_us;
  return p;
}

}  // namespace

Status Repository::SetPolicy(const std::string& vm, const RetentionPolicy& policy) {
  auto lock = impl_->gate.LockForWrite();
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  store::Mutation m;
  if (policy.empty() && !policy.scheduled()) {
    m.Delete(format::PolicyKey(vm));
  } else {
    m.Put(format::PolicyKey(vm), format::EncodePolicy(ToRecord(policy)));
  }
  return impl_->store->Commit(m);
}

Result<std::optional<RetentionPolicy>> Repository::GetPolicy(const std::string& vm) const {
  RPFS_RETURN_IF_ERROR(impl_->catalog.LoadVm(vm).status());
  RPFS_ASSIGN_OR_RETURN(auto raw, impl_->store->Get(format::PolicyKey(vm)));
  if (!raw) return std::optional<RetentionPolicy>();
  RPFS_ASSIGN_OR_RETURN(auto rec, format::DecodePolicy(*raw));
  return std::optional<RetentionPolicy>(FromRecord(rec));
}

Result<PruneResult> Repository::Prune(const std::string& vm, const RetentionPolicy& policy,
                                      bool dry_run) {
  if (policy.empty()) {
    return Status::InvalidArgument("no retention rule given for vm " + vm +
                                   " (e.g. --keep-daily 7); a prune without one would remove "
                                   "every recovery point");
  }
  RPFS_ASSIGN_OR_RETURN(auto rps, ListRps(vm));
  std::vector<rp::RetentionInput> inputs;
  for (const auto& r : rps) {
    inputs.push_back({r.name, r.id, r.created_us, r.is_protected, r.automatic});
  }
  PruneResult out;
  std::vector<std::string> doomed;
  for (const auto& d : rp::ApplyRetention(inputs, policy)) {
    PruneEntry e;
    e.rp = d.name;
    e.keep = d.keep;
    e.reasons = d.reasons;
    for (const auto& r : rps) {
      if (r.name == d.name) e.created_us = r.created_us;
    }
    if (!d.keep) doomed.push_back(d.name);
    out.entries.push_back(std::move(e));
  }
  if (doomed.empty()) return out;
  if (dry_run) {
    RPFS_ASSIGN_OR_RETURN(out.bytes_freed, BytesFreedByDeleting(vm, doomed));
  } else {
    RPFS_ASSIGN_OR_RETURN(out.bytes_freed, DeleteRps(vm, doomed));
  }
  return out;
}

}  // namespace rpfs
