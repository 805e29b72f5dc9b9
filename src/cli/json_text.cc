#include "cli/json_text.h"

#include "util/utf8.h"

namespace rpfs::cli {

nlohmann::json JsonText(const std::string& value) {
  if (IsValidUtf8(value)) return value;
  nlohmann::json bytes = nlohmann::json::array();
  for (char c : value) bytes.push_back(static_cast<unsigned char>(c));
  return bytes;
}

nlohmann::json JsonTexts(const std::vector<std::string>& values) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& v : values) out.push_back(JsonText(v));
  return out;
}

}  // namespace rpfs::cli
