// CRC-32C (Castagnoli), the checksum of jbd2 journals and ext4 metadata. Raw form: the caller
// passes the running value and gets it back without the usual final inversion, because jbd2
// chains it that way (seed = Crc32c(~0, uuid), then each block from that seed).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace rpfs::guest {

uint32_t Crc32c(uint32_t crc, std::span<const std::byte> bytes);
uint32_t Crc32c(uint32_t crc, std::string_view bytes);

}  // namespace rpfs::guest
