// The wire format between the daemon and the guest helper process (helper_client.h,
// helper_server.h): pure encode/decode functions, no I/O, fuzzed (tests/fuzz).
//
// A SOCK_STREAM socketpair carries frames: a u32 little-endian payload length, then the
// payload, whose first byte is the message type. The conversation is strictly one call at
// a time:
//   daemon -> helper  HelperCall (Open first, then GetAttr, Lookup, ...)
//   helper -> daemon  zero or more VolumeReadRequest, each answered by
//   daemon -> helper  VolumeData
//   helper -> daemon  HelperReply (the Status, and the call's payload when OK)
// Both ends are the same rpfs binary (the daemon execs /proc/self/exe), so the format has no
// version: it is never persisted and never spoken across builds.
//
// The daemon decodes what a possibly compromised helper sends: every length and count is
// checked against the frame, every enum against its range, and directory entry names against
// GuestFs's rule; a bad frame is a Corruption naming what is wrong.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "guest/guest_fs.h"
#include "guest/volumes.h"
#include "rpfs/status.h"

namespace rpfs::guest {

inline constexpr size_t kFrameHeaderBytes = 4;
// Larger frames are refused before anything is allocated for them.
inline constexpr uint32_t kMaxHelperFrameBytes = 64u << 20;
// A helper asks for at most this much of the volume at once (ByteSource reads are split).
inline constexpr uint64_t kMaxVolumeReadBytes = 4u << 20;
// One Read call returns at most this much file data (HelperClient splits bigger reads).
inline constexpr uint64_t kMaxFileReadBytes = 4u << 20;
// One ReadDirs call lists at most this many directories.
inline constexpr size_t kMaxBatchDirs = 64;
// One MapFiles call maps at most this many files, of at most kMaxBatchExtents extents each.
inline constexpr size_t kMaxBatchFiles = 64;
inline constexpr uint64_t kMaxBatchExtents = 1024;

enum class HelperOp : uint8_t {
  kOpen = 1,
  kGetAttr,
  kLookup,
  kReadDir,
  kReadLink,
  kMapFile,
  kRead,
  kListXattrs,
  kState,
  kReadDirs,  // several directories in one round trip (GuestFs::ReadDirs)
  kMapFiles,  // several files' extents in one round trip (GuestFs::MapFiles)
};
const char* HelperOpName(HelperOp op);

// A GuestFs call, daemon -> helper. Only the fields of `op` are sent.
struct HelperCall {
  HelperOp op = HelperOp::kState;
  uint64_t ino = 0;                   // every call but Open and State (Lookup: the directory)
  std::string name;                   // Lookup: the entry; Open: the volume's name (for messages)
  uint64_t offset = 0;                // Read
  uint64_t length = 0;                // Read, at most kMaxFileReadBytes
  FsType fs_type = FsType::kUnknown;  // Open
  uint64_t volume_size = 0;           // Open
  std::vector<uint64_t> inos;         // ReadDirs: the directories, at most kMaxBatchDirs;
                                      // MapFiles: the files, at most kMaxBatchFiles
  uint64_t max_extents = 0;           // MapFiles, at most kMaxBatchExtents
};

// helper -> daemon, while the helper serves a call: "send me these bytes of the volume".
// length is at most kMaxVolumeReadBytes.
struct VolumeReadRequest {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// daemon -> helper: the answer to a VolumeReadRequest (bytes hold exactly `length` bytes
// when status is OK).
struct VolumeData {
  Status status;
  std::string bytes;
};

// What the helper's GuestFs answered. Open's reply is OpenedFs; State and ReadLink reply a
// string; Read replies FileBytes.
struct OpenedFs {
  uint64_t root_ino = 0;
  std::string state;
};
struct FileBytes {
  std::string bytes;
};
using Xattrs = std::vector<std::pair<std::string, std::string>>;
using ReplyPayload = std::variant<std::monostate, OpenedFs, FileAttr, std::vector<DirEntry>,
                                  std::string, std::vector<FileExtent>, FileBytes, Xattrs,
                                  std::vector<DirListing>, std::vector<FileMap>>;

// helper -> daemon: the end of a call. `payload` is std::monostate when status is not OK.
struct HelperReply {
  Status status;
  ReplyPayload payload;
};

using HelperMessage = std::variant<HelperCall, VolumeData, VolumeReadRequest, HelperReply>;

// The whole frame (header + payload) of `message`.
std::string EncodeFrame(const HelperMessage& message);
// The payload length announced by a frame's 4-byte header; Corruption when it exceeds
// kMaxHelperFrameBytes.
Result<uint32_t> DecodeFrameHeader(std::string_view header);
// Decodes one frame's payload (without its header). Corruption naming what is wrong.
Result<HelperMessage> DecodeMessage(std::string_view payload);

}  // namespace rpfs::guest
