// The real guest helper process: `rpfs __guest-helper`, started by the daemon through
// guest::HelperClient with argv {"/proc/self/exe", "__guest-helper"} and its socket as fd 3.
#pragma once

namespace rpfs::guestfs {

// Initialises the parser libraries (while files can still be opened), enters the sandbox,
// then serves guest::ServeHelper with OpenGuestFs until the daemon closes `fd`. Returns the
// exit code; the caller must leave with _exit (no atexit work runs inside the sandbox).
int GuestHelperMain(int fd);

}  // namespace rpfs::guestfs
