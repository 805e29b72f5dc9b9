#include "guestfs/open.h"

#include <ext2fs/ext2fs.h>

#include <mutex>

#include "guestfs/ext_fs.h"
#include "guestfs/tsk_fs.h"

namespace rpfs::guestfs {
namespace {

using Opener = Result<std::unique_ptr<guest::GuestFs>> (*)(guest::FsType, guest::SourcePtr);

Result<std::unique_ptr<guest::GuestFs>> OpenExt(guest::FsType, guest::SourcePtr volume) {
  // error_message() knows libext2fs' codes only once its table is registered.
  static std::once_flag errors_registered;
  std::call_once(errors_registered, [] { initialize_ext2_error_table(); });
  return OpenExtFs(std::move(volume));
}

// Which adapter reads which type: adding a backend is one line here.
struct Backend {
  guest::FsType type;
  Opener open;
};
constexpr Backend kBackends[] = {
    {guest::FsType::kExt2, OpenExt},      {guest::FsType::kExt3, OpenExt},
    {guest::FsType::kExt4, OpenExt},      {guest::FsType::kVfat, OpenTskFs},
    {guest::FsType::kExfat, OpenTskFs},   {guest::FsType::kNtfs, OpenTskFs},
    {guest::FsType::kIso9660, OpenTskFs},
};

}  // namespace

Result<std::unique_ptr<guest::GuestFs>> OpenGuestFs(guest::FsType type, guest::SourcePtr volume) {
  for (const Backend& b : kBackends) {
    if (b.type == type) return b.open(type, std::move(volume));
  }
  std::string name = guest::FsTypeName(type);
  return Status::NotSupported(volume->name() + ": no reader for " +
                              (name.empty() ? "an unknown filesystem" : name));
}

}  // namespace rpfs::guestfs
