#include "image/qcow2_bitmaps.h"

#include <libnbd.h>

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

// Why qemu-nbd would not export `bitmap` (it tells only its own stderr): in qemu-img's words.
std::string WhyNoBitmap(const std::string& path, const std::string& bitmap) {
  auto bitmaps = BitmapFlags(path);
  if (!bitmaps.ok()) return bitmaps.status().message();
  auto it = bitmaps->find(bitmap);
  if (it == bitmaps->end()) return "the image has no such bitmap";
  for (const auto& flag : it->second) {
    if (flag == "in-use") {
      return "it is marked in use (a running qemu holds the live copy, or one was killed "
             "without storing it): inconsistent";
    }
  }
  return "";
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
    std::string err = NbdErrorText();
    std::string why = WhyNoBitmap(path, bitmap);
    return Status::IOError(label + ": qemu-nbd cannot export it: " + (why.empty() ? err : why));
  }
  if (nbd_can_meta_context(h.get(), context.c_str()) != 1) {
    return Status::IOError(label + ": qemu-nbd does not offer " + context);
  }
  int64_t size = nbd_get_size(h.get());
  if (size < 0) return Status::IOError(label + ": " + NbdErrorText());
  return NbdStatusExtents(h.get(), static_cast<uint64_t>(size), context.c_str(), NbdIsDirty, label);
}

}  // namespace rpfs::image
