// Constructors of the ImageSource implementations (internal to the image layer).
#pragma once

#include <sys/stat.h>

#include "image/image_source.h"

namespace rpfs::image {

Result<std::unique_ptr<ImageSource>> OpenRaw(const std::string& name, const std::string& path);
Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& name, const std::string& path);

// IOError unless `path` still names the file `opened` describes (not removed, not replaced).
// `label` names the image in the message.
Status CheckSameFile(const std::string& path, const struct stat& opened, const std::string& label);

}  // namespace rpfs::image
