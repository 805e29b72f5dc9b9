// Must NOT compile: the store layer sits below fs, so fs headers are not on its include
// path (tests/CMakeLists.txt, layering_upward_include_fails).
#include "fs/filesystem.h"
