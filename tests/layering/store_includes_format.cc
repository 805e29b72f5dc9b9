// Must compile: the store layer may include the layers below it (format, util) and the
// public API; the control case of layering_upward_include_fails.
#include "format/keys.h"
#include "rpfs/status.h"
#include "store/store.h"
#include "util/coding.h"
