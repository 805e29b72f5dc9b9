// ReplayExtJournal on arbitrary bytes: ext superblock, group descriptor, journal inode,
// extent tree or block map, then the journal; a Status always, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "guest/jbd2.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto src = rpfs::guest::MemorySource(std::string(reinterpret_cast<const char*>(data), size), "v");
  auto replay = rpfs::guest::ReplayExtJournal(src);
  if (replay.ok() && replay->volume->size() >= 4096) {
    std::string block(4096, '\0');
    (void)replay->volume->ReadAt(0, std::as_writable_bytes(std::span(block)));
  }
  return 0;
}
