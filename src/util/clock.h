// Wall-clock time as persisted (microseconds since the Unix epoch, UTC) and its display.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rpfs {

// The wall clock, unless pinned: tests (and `rpfs auto` simulations) pin it with the
// environment variable RPFS_TEST_NOW (read once; an ISO 8601 UTC time as FormatIsoUtc
// prints it, or seconds since the epoch) or with PinClockForTesting.
int64_t NowMicros();
// Pins NowMicros() to `micros`; nullopt lets it follow the wall clock again.
void PinClockForTesting(std::optional<int64_t> micros);

// A clock for durations and deadlines (steady: never pinned, never set back).
int64_t MonotonicMicros();

// A duration for people: "2.4 s" (one decimal).
std::string FormatSeconds(int64_t micros);

// "2026-11-22T03:49:42Z" (ISO 8601, UTC, seconds).
std::string FormatIsoUtc(int64_t micros);
// The inverse of FormatIsoUtc; nullopt for anything else.
std::optional<int64_t> ParseIsoUtc(std::string_view text);

}  // namespace rpfs
