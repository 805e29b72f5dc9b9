// Who may read a disk image: what an RP of it shows in the mount (docs/security.md).
#include <sys/stat.h>

#include "image/image_source.h"

namespace rpfs::image {

Result<format::StreamAccess> AccessOf(const std::string& name, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "stat image " + name + " (" + path + ")");
  }
  format::StreamAccess a;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  a.mode = st.st_mode & 0777;  // never setuid, setgid or sticky
  return a;
}

}  // namespace rpfs::image
