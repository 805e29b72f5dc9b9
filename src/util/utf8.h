// UTF-8 well-formedness (RFC 3629; Unicode table 3-7): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF. The same rule JSON writers enforce.
#pragma once

#include <string_view>

namespace rpfs {

bool IsValidUtf8(std::string_view s);

}  // namespace rpfs
