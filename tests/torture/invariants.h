// The checks run after every operation, each through a fresh process (which also runs
// the store's recovery): listing, exports, verify, clone contents.
#pragma once

#include <cstdint>
#include <string>

#include "torture/model.h"
#include "torture/operations.h"

namespace rpfs::torture {

struct CheckCounters {
  uint64_t exports = 0;       // RP exports compared with their reference
  uint64_t verifies = 0;      // clean `rpfs verify` runs
  uint64_t clone_reads = 0;   // clones read back
  uint64_t clone_blocks = 0;  // known clone blocks compared
  uint64_t wrong_reads = 0;   // exports or clone blocks that differed
  uint64_t lost_rps = 0;      // committed RPs missing from the listing
  uint64_t pulls = 0;         // region snapshots pulled back and compared
};

// With a region: `region verify` is clean and every snapshot pulls back its RP's bytes.
std::string CheckRegion(const Model& model, const Paths& paths, CheckCounters* counters);

// What a fresh `rpfs list` / `clone-list` shows; "" or what went wrong in *error.
Observed Observe(const Paths& paths, std::string* error);

// The listing must equal the model (after the operation was resolved into it).
std::string CheckListing(const Model& model, const Observed& seen, CheckCounters* counters);

// Every RP exports to its reference, verify is clean, every clone reads back its known
// blocks. Returns "" or the first violation.
std::string CheckContents(const Model& model, const Paths& paths, CheckCounters* counters);

}  // namespace rpfs::torture
