// CRC-32 with the IEEE 802.3 polynomial (reflected 0xEDB88320): GPT headers and entry arrays
// use the usual form (start ~0, final inversion); LVM2 labels and metadata use the raw
// update from its own seed (0xf597a6cf) without inversions. Table-driven, our own code.
#pragma once

#include <cstdint>
#include <string_view>

namespace rpfs::guest {

// The raw update: no pre- or post-inversion.
uint32_t Crc32Update(uint32_t crc, std::string_view data);
// The standard CRC-32 (zlib's crc32(0, data)).
inline uint32_t Crc32(std::string_view data) { return ~Crc32Update(~0u, data); }
// LVM2's calc_crc(INITIAL_CRC, data).
inline uint32_t LvmCrc(std::string_view data) { return Crc32Update(0xf597a6cfu, data); }

}  // namespace rpfs::guest
