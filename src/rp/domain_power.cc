#include "rp/domain_power.h"

#include <chrono>
#include <cstdio>
#include <thread>

#include "util/clock.h"

namespace rpfs::rp {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);

void Tell(const StepFn& step, const std::string& what) {
  if (step) step(what);
}

Status Destroy(Hypervisor& hv, const format::VmRecord& vm, const std::string& why,
               const StepFn& step) {
  Tell(step, why + ": destroying the domain (--force)");
  return hv.Destroy(vm.domain_uuid).WithContext("destroying ", DomainLabel(vm));
}

}  // namespace

Result<bool> StopDomain(DomainPoints& domains, const format::VmRecord& vm, const StopRequest& req,
                        const StepFn& step) {
  RPFS_ASSIGN_OR_RETURN(DomainInfo dom, domains.DomainOf(vm));
  if (dom.state == DomainState::kShutOff) return false;
  RPFS_ASSIGN_OR_RETURN(auto hv, domains.HypervisorFor(vm.libvirt_uri));
  if (dom.state != DomainState::kRunning) {
    // A paused guest cannot answer the power button.
    std::string why = DomainLabel(vm) + " is " + DomainStateName(dom.state);
    if (!req.force) {
      return Status::Busy(why + ": its guest cannot be asked to shut down (resume it, or " +
                          "--force destroys it)");
    }
    RPFS_RETURN_IF_ERROR(Destroy(*hv, vm, why, step));
    return true;
  }
  // The deadline counts from before the request: asking may itself take a while.
  const int64_t asked = MonotonicMicros();
  auto how = hv->RequestShutdown(vm.domain_uuid);
  if (!how.ok()) return how.status().WithContext("asking ", DomainLabel(vm), " to shut down");
  Tell(step, "asked the guest to shut down (" + *how + "), waiting up to " +
                 std::to_string(req.timeout_s) + " s");
  const int64_t deadline = asked + static_cast<int64_t>(req.timeout_s) * 1000000;
  for (;;) {
    RPFS_ASSIGN_OR_RETURN(dom, domains.DomainOf(vm));
    if (dom.state == DomainState::kShutOff) {
      Tell(step, "the guest shut down after " + FormatSeconds(MonotonicMicros() - asked));
      return true;
    }
    if (MonotonicMicros() >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::string why = "the guest of " + DomainLabel(vm) + " did not shut down within " +
                    std::to_string(req.timeout_s) + " s (asked through " + *how + ")";
  if (!req.force) {
    return Status::Busy(why + "; nothing was rolled back (--force destroys the domain, a " +
                        "longer --timeout gives the guest more time)");
  }
  RPFS_RETURN_IF_ERROR(Destroy(*hv, vm, why, step));
  return true;
}

Status StartDomain(DomainPoints& domains, const format::VmRecord& vm, const StepFn& step) {
  RPFS_ASSIGN_OR_RETURN(auto hv, domains.HypervisorFor(vm.libvirt_uri));
  Tell(step, "starting the domain");
  return hv->Start(vm.domain_uuid).WithContext("starting ", DomainLabel(vm));
}

}  // namespace rpfs::rp
