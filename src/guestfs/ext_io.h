// ExtIo: a read-only libext2fs io_manager over a guest::ByteSource, so libext2fs reads a
// guest volume (a slice of an RP disk, a replayed overlay) instead of a device path.
//
// libext2fs's open() gets only a name string, no user pointer. Rather than printing a raw
// pointer into that name (as nbdkit does) and trusting it back, each source is registered
// under a unique token; the manager's open() looks the token up and fails on anything else.
// Writes, discards and zero-outs return EXT2_ET_RO_FILSYS. The channel does not set
// CHANNEL_FLAGS_THREADS (that would make libext2fs spawn threads to read bitmaps).
#pragma once

#include <ext2fs/ext2fs.h>

#include <string>

#include "guest/byte_source.h"

namespace rpfs::guestfs {

// The manager to pass to ext2fs_open2 together with ExtIoRegistration::name().
io_manager ExtIoManager();

// Keeps `source` findable under name() while it lives. Channels opened from it hold their own
// reference to the source, so they may outlive the registration.
class ExtIoRegistration {
 public:
  explicit ExtIoRegistration(guest::SourcePtr source);
  ~ExtIoRegistration();
  ExtIoRegistration(const ExtIoRegistration&) = delete;
  ExtIoRegistration& operator=(const ExtIoRegistration&) = delete;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// The message of the last failed read on `channel` (an ExtIo channel), "" when none: libext2fs
// only passes on an error code, this keeps the ByteSource's words (range, cause).
std::string ExtIoLastError(io_channel channel);

}  // namespace rpfs::guestfs
