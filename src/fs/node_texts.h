// The generated texts of the mount: an RP's `info`, a VM's `.status` and `.prune-preview`,
// a clone's `.status`. Each is made when its file is opened (never for a getattr: `info`
// runs a delete simulation, `.prune-preview` a dry-run prune); every call counts one in
// NodeContext::texts_made, so tests can check that a stat makes none.
#pragma once

#include <string>

#include "fs/node_kind.h"

namespace rpfs::fs {

// "key: value" lines of the RP (FormatRpInfo), with the bytes deleting it alone would free.
Result<std::string> InfoText(NodeContext& ctx, const RpInfo& rp);
// The VM's recent operations (control::Operations::StatusText).
std::string VmStatusText(NodeContext& ctx, const std::string& vm);
// What the VM's stored retention policy would remove now (a dry-run prune).
Result<std::string> PrunePreviewText(NodeContext& ctx, const std::string& vm);
// Hydration progress of a clone.
Result<std::string> CloneStatusText(NodeContext& ctx, const std::string& vm,
                                    const std::string& clone);

}  // namespace rpfs::fs
