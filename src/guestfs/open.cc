#include "guestfs/open.h"

namespace rpfs::guestfs {

Result<std::unique_ptr<guest::GuestFs>> OpenGuestFs(guest::FsType type, guest::SourcePtr volume) {
  return Status::NotSupported(volume->name() + ": no reader for " +
                              std::string(guest::FsTypeName(type)) + " yet");
}

}  // namespace rpfs::guestfs
