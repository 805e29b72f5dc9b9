// Constructors of the ImageSource implementations (internal to the image layer).
#pragma once

#include "image/image_source.h"

namespace rpfs::image {

Result<std::unique_ptr<ImageSource>> OpenRaw(const std::string& name, const std::string& path);
Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& name, const std::string& path);

}  // namespace rpfs::image
