#include "guestfs/helper_main.h"

extern "C" {
#include <ext2fs/ext2_err.h>  // a C header without extern "C"
}

#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "guest/helper_server.h"
#include "guest/sandbox.h"
#include "guestfs/open.h"

namespace rpfs::guestfs {

int GuestHelperMain(int fd) {
  // Everything that may open a file must happen now: after EnterSandbox an open() kills the
  // process. libext2fs's com_err table registers its messages. Times are UTC: with TZ unset
  // glibc stats /etc/localtime again on every localtime()/mktime() (The Sleuth Kit converts
  // FAT and ISO times with them), which the sandbox refuses; a TZ rule string reads no file,
  // and guest times are shown as UTC whatever the host's zone. The Sleuth Kit needs no
  // set-up for tsk_img_open_external with an explicit type (no autodetection, no files).
  initialize_ext2_error_table();
  ::setenv("TZ", "UTC0", 1);
  ::tzset();
  Status s = guest::EnterSandbox(fd);
  if (!s.ok()) {
    std::fprintf(stderr, "rpfs guest helper: %s\n", s.ToString().c_str());
    return 1;
  }
  return guest::ServeHelper(fd, OpenGuestFs);
}

}  // namespace rpfs::guestfs
