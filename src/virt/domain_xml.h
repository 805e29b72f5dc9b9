// Reading and rewriting libvirt domain XML (libxml2): the disks rpfs reads, and the
// definition of a copy of a domain that runs on other disks.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rpfs/hypervisor.h"
#include "rpfs/status.h"

namespace rpfs::virt {

struct ParsedDomain {
  std::string name;
  std::string uuid;
  // Every <disk device='disk'> with a file or block source, in document order. Disks
  // without a source (an empty CD-ROM) or of other devices are left out.
  std::vector<DomainDisk> disks;
};

// Corruption naming the cause when the XML does not parse or has no <name>.
Result<ParsedDomain> ParseDomainXml(const std::string& xml);

// `xml` with name `name`, no <uuid> (libvirt makes a new one), no <mac address> (new MACs),
// and every disk whose target is in `disk_paths` turned into a raw file disk at that path
// (backing chains dropped). InvalidArgument when a target of `disk_paths` is not a disk.
Result<std::string> CopyDomainXml(const std::string& xml, const std::string& name,
                                  const std::map<std::string, std::string>& disk_paths);

// The definition of a restore drill's transient domain: CopyDomainXml, then isolated: no
// <interface> (no network), host devices, shared memory, vsock, TPM, remote display,
// filesystems or consoles; no disk the RP does not hold but CD-ROMs (another would be the
// live VM's); no <nvram> (libvirt makes a fresh one from the firmware's template); the
// guest agent's channel (its own, whatever the source had); and one serial port writing
// what the guest prints to `console_file`.
Result<std::string> DrillDomainXml(const std::string& xml, const std::string& name,
                                   const std::map<std::string, std::string>& disk_paths,
                                   const std::string& console_file);

}  // namespace rpfs::virt
