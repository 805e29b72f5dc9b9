// The driver's child modes that use the Repository API directly (there is no CLI verb
// that writes into a clone): `rpfs_torture --write-clone ...` and `--read-clone ...`.
//
// The writer's protocol on stdout, one line each, flushed before the next step:
//   w <i> <offset> <length>   about to write write #i (bytes: FillPattern(WriteSeed(seed, i)))
//   a <i>                     CloneDisk::Flush returned OK: writes #0..#i are acknowledged
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rpfs::torture {

inline uint64_t WriteSeed(uint64_t seed, uint64_t i) { return seed * 1000003 + i + 1; }

// Both return the process exit code.
int WriteCloneMain(const std::vector<std::string>& args);  // STORE VM CLONE SEED COUNT
int ReadCloneMain(const std::vector<std::string>& args);   // STORE VM CLONE -> stdout

}  // namespace rpfs::torture
