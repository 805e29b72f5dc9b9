#include "image/qcow2_bitmaps.h"

#include <nlohmann/json.hpp>

#include "util/subprocess.h"

namespace rpfs::image {
namespace {

// qemu-img's own message, on one line.
std::string OneLine(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  return text;
}

}  // namespace

Result<std::vector<std::string>> Qcow2Bitmaps(const std::string& path, const std::string& prefix) {
  RPFS_ASSIGN_OR_RETURN(ProcessResult info,
                        RunProcess({"qemu-img", "info", "-U", "--output=json", path}));
  if (info.exit_code != 0) {
    return Status::IOError("qemu-img info " + path + ": " + OneLine(info.output));
  }
  nlohmann::json j = nlohmann::json::parse(info.output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::IOError("qemu-img info " + path + ": not JSON");
  std::vector<std::string> out;
  const auto bitmaps = j["format-specific"]["data"]["bitmaps"];
  if (!bitmaps.is_array()) return out;  // none, or not a qcow2
  for (const auto& b : bitmaps) {
    if (!b.contains("name") || !b["name"].is_string()) continue;
    std::string name = b["name"].get<std::string>();
    if (name.rfind(prefix, 0) == 0) out.push_back(std::move(name));
  }
  return out;
}

Result<std::vector<std::string>> RemoveQcow2Bitmaps(const std::string& path,
                                                    const std::string& prefix) {
  RPFS_ASSIGN_OR_RETURN(std::vector<std::string> names, Qcow2Bitmaps(path, prefix));
  for (const auto& name : names) {
    RPFS_ASSIGN_OR_RETURN(ProcessResult r,
                          RunProcess({"qemu-img", "bitmap", "--remove", path, name}));
    if (r.exit_code != 0) {
      return Status::IOError("removing bitmap " + name + " from " + path + ": " +
                             OneLine(r.output));
    }
  }
  return names;
}

}  // namespace rpfs::image
