#include "image/qcow2_bitmaps.h"

#include <libnbd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "image/sources.h"
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

struct NbdClose {
  void operator()(nbd_handle* h) const {
    nbd_shutdown(h, 0);
    nbd_close(h);  // also reaps the qemu-nbd it started
  }
};

// The image's bitmaps as qemu-img describes them: name -> flags ("in-use", "auto").
Result<std::map<std::string, std::vector<std::string>>> BitmapFlags(const std::string& path) {
  RPFS_ASSIGN_OR_RETURN(ProcessResult info,
                        RunProcess({"qemu-img", "info", "-U", "--output=json", path}));
  if (info.exit_code != 0) {
    return Status::IOError("qemu-img info " + path + ": " + OneLine(info.output));
  }
  nlohmann::json j = nlohmann::json::parse(info.output, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::IOError("qemu-img info " + path + ": not JSON");
  std::map<std::string, std::vector<std::string>> out;
  const auto bitmaps = j["format-specific"]["data"]["bitmaps"];
  if (!bitmaps.is_array()) return out;  // none, or not a qcow2
  for (const auto& b : bitmaps) {
    if (!b.contains("name") || !b["name"].is_string()) continue;
    auto& flags = out[b["name"].get<std::string>()];
    if (!b.contains("flags") || !b["flags"].is_array()) continue;
    for (const auto& f : b["flags"]) {
      if (f.is_string()) flags.push_back(f.get<std::string>());
    }
  }
  return out;
}

// Why the file's copy of `bitmap` cannot be trusted to list every write since it was made,
// in qemu-img's words; "" when it can: present, recording ("auto": enabled) and not in use.
Result<std::string> WhyUntrusted(const std::string& path, const std::string& bitmap) {
  RPFS_ASSIGN_OR_RETURN(auto bitmaps, BitmapFlags(path));
  auto it = bitmaps.find(bitmap);
  if (it == bitmaps.end()) return std::string("the image has no such bitmap");
  const auto& flags = it->second;
  if (std::find(flags.begin(), flags.end(), "in-use") != flags.end()) {
    return std::string(
        "it is marked in use (a running qemu holds the live copy, or one was killed without "
        "storing it): inconsistent");
  }
  if (std::find(flags.begin(), flags.end(), "auto") == flags.end()) {
    return std::string("it is disabled (it stopped recording writes)");
  }
  return std::string();
}

}  // namespace

Result<std::vector<std::string>> Qcow2Bitmaps(const std::string& path, const std::string& prefix) {
  RPFS_ASSIGN_OR_RETURN(auto bitmaps, BitmapFlags(path));
  std::vector<std::string> out;
  for (const auto& [name, flags] : bitmaps) {
    if (name.rfind(prefix, 0) == 0) out.push_back(name);
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

Result<std::vector<Extent>> Qcow2DirtyExtents(const std::string& path, const std::string& bitmap) {
  const std::string context = "qemu:dirty-bitmap:" + bitmap;
  const std::string label = "bitmap " + bitmap + " of " + path;
  // qemu-nbd refuses an in-use bitmap itself but would export a disabled one, whose extents
  // miss every write since it was disabled; and it tells only its own stderr why it refuses.
  RPFS_ASSIGN_OR_RETURN(std::string why, WhyUntrusted(path, bitmap));
  if (!why.empty()) return Status::IOError(label + ": " + why);
  std::unique_ptr<nbd_handle, NbdClose> h(nbd_create());
  if (h == nullptr) return Status::IOError("libnbd: " + NbdErrorText());
  nbd_add_meta_context(h.get(), context.c_str());
  std::string opts = SharedQcow2ImageOpts(path);
  std::string name = bitmap;
  std::vector<char*> argv = {const_cast<char*>("qemu-nbd"),      // NOLINT
                             const_cast<char*>("--read-only"),   // NOLINT
                             const_cast<char*>("--image-opts"),  // NOLINT
                             opts.data(),
                             const_cast<char*>("--bitmap"),  // NOLINT
                             name.data(),
                             nullptr};
  if (nbd_connect_systemd_socket_activation(h.get(), argv.data()) != 0) {
    return Status::IOError(label + ": qemu-nbd cannot export it: " + NbdErrorText());
  }
  if (nbd_can_meta_context(h.get(), context.c_str()) != 1) {
    return Status::IOError(label + ": qemu-nbd does not offer " + context);
  }
  int64_t size = nbd_get_size(h.get());
  if (size < 0) return Status::IOError(label + ": " + NbdErrorText());
  return NbdStatusExtents(h.get(), static_cast<uint64_t>(size), context.c_str(), NbdIsDirty, label);
}

}  // namespace rpfs::image
