// Stopping and starting a libvirt VM's domain around a rollback (`rollback --stop
// --start`, docs/restore.md): the guest is asked to shut down and given time, never
// pulled from under it unless the operator said --force.
#pragma once

#include <cstdint>
#include <string>

#include "format/records.h"
#include "rp/domain_points.h"
#include "rpfs/repository.h"

namespace rpfs::rp {

struct StopRequest {
  uint32_t timeout_s = 120;
  bool force = false;  // destroy a guest that did not shut down in time (or is paused)
};

// Brings the domain of `vm` to shut off. A running guest is asked (ACPI, or its agent when ACPI
// cannot be sent) and waited for; one still up after the timeout is Busy naming the guest, and
// nothing else was done to it (a slow guest may still shut down later), unless `force`. Returns
// whether the domain was active (so the caller stopped it). Each step goes to `step`.
Result<bool> StopDomain(DomainPoints& domains, const format::VmRecord& vm, const StopRequest& req,
                        const StepFn& step);

// Boots the shut-off domain of `vm`.
Status StartDomain(DomainPoints& domains, const format::VmRecord& vm, const StepFn& step);

}  // namespace rpfs::rp
