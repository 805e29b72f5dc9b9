// rpfs::Hypervisor over libvirt: the only code that includes libvirt.
#pragma once

#include <memory>
#include <string>

#include "rpfs/hypervisor.h"

namespace rpfs::virt {

// Connects to libvirt at `uri` ("qemu:///system"). Unavailable when libvirtd does not answer,
// with libvirt's own message.
Result<std::shared_ptr<Hypervisor>> ConnectLibvirt(const std::string& uri);

// The libvirt library this process runs with ("9.0.0"; "unknown" if it cannot say), for
// `rpfs --version`. Needs no connection.
std::string LibvirtVersion();

}  // namespace rpfs::virt
