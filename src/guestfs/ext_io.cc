#include "guestfs/ext_io.h"

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <span>

namespace rpfs::guestfs {
namespace {

std::mutex registry_mu;
std::map<std::string, guest::SourcePtr>& Registry() {
  static auto* registry = new std::map<std::string, guest::SourcePtr>();
  return *registry;
}

struct Channel {
  struct_io_channel io{};
  std::string name;
  guest::SourcePtr source;
  std::string last_error;
  struct_io_stats stats{};
};

Channel* Of(io_channel channel) { return static_cast<Channel*>(channel->private_data); }

errcode_t Open(const char* name, int flags, io_channel* out) {
  if (name == nullptr || out == nullptr) return EXT2_ET_BAD_DEVICE_NAME;
  if ((flags & IO_FLAG_RW) != 0) return EXT2_ET_RO_FILSYS;
  guest::SourcePtr source;
  {
    std::lock_guard lock(registry_mu);
    auto it = Registry().find(name);
    if (it == Registry().end()) return EXT2_ET_BAD_DEVICE_NAME;
    source = it->second;
  }
  auto* ch = new (std::nothrow) Channel();
  if (ch == nullptr) return EXT2_ET_NO_MEMORY;
  ch->name = name;
  ch->source = std::move(source);
  ch->stats.num_fields = 2;
  ch->io.magic = EXT2_ET_MAGIC_IO_CHANNEL;
  ch->io.manager = ExtIoManager();
  ch->io.name = ch->name.data();
  ch->io.block_size = 1024;
  ch->io.refcount = 1;
  ch->io.private_data = ch;
  *out = &ch->io;
  return 0;
}

errcode_t Close(io_channel channel) {
  if (--channel->refcount > 0) return 0;
  delete Of(channel);
  return 0;
}

errcode_t SetBlockSize(io_channel channel, int block_size) {
  if (block_size <= 0) return EXT2_ET_INVALID_ARGUMENT;
  channel->block_size = block_size;
  return 0;
}

errcode_t ReadBlock64(io_channel channel, unsigned long long block, int count, void* data) {
  Channel* ch = Of(channel);
  // A negative count is a byte count (libext2fs reads the 1 KiB superblock that way).
  uint64_t bytes = count < 0 ? static_cast<uint64_t>(-static_cast<int64_t>(count))
                             : static_cast<uint64_t>(count) * channel->block_size;
  uint64_t bs = static_cast<uint64_t>(channel->block_size);
  if (block > UINT64_MAX / bs) {
    ch->last_error = "block " + std::to_string(block) + " lies past any volume";
    return EXT2_ET_SHORT_READ;
  }
  Status s = ch->source->ReadAt(block * bs, std::span(static_cast<std::byte*>(data), bytes));
  if (!s.ok()) {
    ch->last_error = s.message();
    std::memset(data, 0, bytes);
    return EXT2_ET_SHORT_READ;
  }
  ch->stats.bytes_read += bytes;
  return 0;
}

errcode_t ReadBlock(io_channel channel, unsigned long block, int count, void* data) {
  return ReadBlock64(channel, block, count, data);
}

errcode_t WriteBlock(io_channel, unsigned long, int, const void*) { return EXT2_ET_RO_FILSYS; }
errcode_t WriteBlock64(io_channel, unsigned long long, int, const void*) {
  return EXT2_ET_RO_FILSYS;
}
errcode_t WriteByte(io_channel, unsigned long, int, const void*) { return EXT2_ET_RO_FILSYS; }
errcode_t Discard(io_channel, unsigned long long, unsigned long long) { return EXT2_ET_RO_FILSYS; }
errcode_t ZeroOut(io_channel, unsigned long long, unsigned long long) { return EXT2_ET_RO_FILSYS; }
errcode_t Flush(io_channel) { return 0; }
errcode_t SetOption(io_channel, const char*, const char*) { return EXT2_ET_INVALID_ARGUMENT; }
errcode_t GetStats(io_channel channel, io_stats* stats) {
  if (stats != nullptr) *stats = &Of(channel)->stats;
  return 0;
}

struct_io_manager MakeManager() {
  struct_io_manager m{};
  m.magic = EXT2_ET_MAGIC_IO_MANAGER;
  m.name = "rpfs read-only guest volume";
  m.open = Open;
  m.close = Close;
  m.set_blksize = SetBlockSize;
  m.read_blk = ReadBlock;
  m.write_blk = WriteBlock;
  m.flush = Flush;
  m.write_byte = WriteByte;
  m.set_option = SetOption;
  m.get_stats = GetStats;
  m.read_blk64 = ReadBlock64;
  m.write_blk64 = WriteBlock64;
  m.discard = Discard;
  m.zeroout = ZeroOut;
  return m;
}

}  // namespace

io_manager ExtIoManager() {
  static struct_io_manager manager = MakeManager();
  return &manager;
}

ExtIoRegistration::ExtIoRegistration(guest::SourcePtr source) {
  static std::atomic<uint64_t> next{1};
  name_ = "rpfs-ext-io:" + std::to_string(next.fetch_add(1)) + ":" + source->name();
  std::lock_guard lock(registry_mu);
  Registry()[name_] = std::move(source);
}

ExtIoRegistration::~ExtIoRegistration() {
  std::lock_guard lock(registry_mu);
  Registry().erase(name_);
}

std::string ExtIoLastError(io_channel channel) {
  if (channel == nullptr || channel->manager != ExtIoManager()) return "";
  return Of(channel)->last_error;
}

}  // namespace rpfs::guestfs
