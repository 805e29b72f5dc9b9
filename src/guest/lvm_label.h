// Reading one LVM2 physical volume: its label (in one of sectors 0-3), PV header and the
// current metadata text from its first usable metadata area. Checks: see lvm.h.
#pragma once

#include <string>

#include "guest/byte_source.h"
#include "rpfs/status.h"

namespace rpfs::guest {

struct LvmPvLabel {
  std::string id;        // the PV UUID, 32 characters without dashes
  std::string metadata;  // the current metadata text; "" when the PV has no metadata area
  std::string error;     // non-empty: the label or metadata is damaged (the reason)
};

// Errors of the call are I/O errors of `pv` only.
Result<LvmPvLabel> ReadLvmPvLabel(const ByteSource& pv);

}  // namespace rpfs::guest
