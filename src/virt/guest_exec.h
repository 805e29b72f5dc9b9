// Commands run in a guest through its QEMU guest agent (guest-exec, guest-exec-status).
// libvirt has no API of its own for it; this goes through libvirt-qemu's pass-through
// (virDomainQemuAgentCommand), which libvirt logs as a "custom guest agent command" taint
// of the domain: rpfs uses it only on the transient domains of restore drills.
#pragma once

#include <libvirt/libvirt.h>

#include <string>
#include <vector>

#include "rpfs/hypervisor.h"

namespace rpfs::virt {

// Starts `argv` in the guest of the running domain `dom` (named `name` in errors), then
// polls its status until it ends or `timeout_s` pass.
Result<GuestExecResult> RunInGuest(virDomainPtr dom, const std::string& name,
                                   const std::vector<std::string>& argv, uint32_t timeout_s);

// The agent's reply to guest-exec-status ({"return": {...}}) as a result; exposed for tests.
Result<GuestExecResult> ParseExecStatus(const std::string& reply);

}  // namespace rpfs::virt
