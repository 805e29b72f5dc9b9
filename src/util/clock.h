// Wall-clock time as persisted (microseconds since the Unix epoch, UTC) and its display.
#pragma once

#include <cstdint>
#include <string>

namespace rpfs {

int64_t NowMicros();
// "2026-11-22T03:49:42Z" (ISO 8601, UTC, seconds).
std::string FormatIsoUtc(int64_t micros);

}  // namespace rpfs
