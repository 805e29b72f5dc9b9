// qcow2 (or any format qemu reads) through qemu-nbd, spawned by libnbd with socket
// activation: qemu's own code interprets the image, we only speak NBD to it.
#include <libnbd.h>
#include <sys/stat.h>

#include <mutex>
#include <vector>

#include "image/image_source.h"
#include "image/sources.h"

namespace rpfs::image {
namespace {

// NBD requests are limited in size; stay well below the protocol maximum.
constexpr uint64_t kMaxRequest = 32ull << 20;
constexpr uint64_t kMaxStatusRequest = 1ull << 30;

std::string NbdError() { return NbdErrorText(); }

}  // namespace

Result<std::vector<Extent>> NbdStatusExtents(nbd_handle* h, uint64_t size, const char* context,
                                             bool (*wanted)(uint32_t flags),
                                             const std::string& label) {
  std::vector<Extent> out;
  uint64_t pos = 0;
  while (pos < size) {
    struct Ctx {
      std::vector<Extent>* out;
      uint64_t end;
      const char* context;
      bool (*wanted)(uint32_t);
    } ctx{&out, pos, context, wanted};
    nbd_extent_callback cb = {};
    cb.user_data = &ctx;
    cb.callback = [](void* user, const char* meta, uint64_t offset, uint32_t* entries, size_t n,
                     int*) -> int {
      auto* c = static_cast<Ctx*>(user);
      if (std::string_view(meta) != c->context) return 0;
      for (size_t i = 0; i + 1 < n; i += 2) {
        uint64_t len = entries[i];
        if (c->wanted(entries[i + 1]) && len > 0) {
          if (!c->out->empty() && c->out->back().offset + c->out->back().length == offset) {
            c->out->back().length += len;
          } else {
            c->out->push_back({offset, len});
          }
        }
        offset += len;
      }
      c->end = offset;
      return 0;
    };
    uint64_t count = std::min(kMaxStatusRequest, size - pos);
    if (nbd_block_status(h, count, pos, cb, 0) != 0) {
      return Status::IOError("block status (" + std::string(context) + ") of " + label + ": " +
                             NbdError());
    }
    if (ctx.end <= pos) {  // no progress: count the rest as wanted (read it)
      out.push_back({pos, size - pos});
      break;
    }
    pos = ctx.end;
  }
  if (!out.empty() && out.back().offset + out.back().length > size) {
    out.back().length = size - out.back().offset;
  }
  return out;
}

// qemu's dirty-bitmap contexts set bit 0 for a dirty (written) extent.
bool NbdIsDirty(uint32_t flags) { return (flags & 1) != 0; }

std::string SharedQcow2ImageOpts(const std::string& path) {
  // In image options a ',' in the file name is written ",,".
  std::string opts = "driver=qcow2,force-share=on,file.driver=file,file.filename=";
  for (char c : path) opts += c == ',' ? std::string(",,") : std::string(1, c);
  return opts;
}

namespace {

bool IsAllocated(uint32_t flags) { return (flags & LIBNBD_STATE_ZERO) == 0; }

class NbdSource final : public ImageSource {
 public:
  // `file` is the image qemu-nbd serves (checked for replacement), or empty for an export
  // of someone else's server.
  NbdSource(std::string label, nbd_handle* h, uint64_t size, std::string file, struct stat st,
            std::string dirty_context)
      : label_(std::move(label)),
        h_(h),
        size_(size),
        file_(std::move(file)),
        st_(st),
        dirty_context_(std::move(dirty_context)) {}
  ~NbdSource() override {
    nbd_shutdown(h_, 0);
    nbd_close(h_);
  }

  uint64_t size() const override { return size_; }

  Result<std::vector<Extent>> DataExtents() override {
    if (nbd_can_meta_context(h_, LIBNBD_CONTEXT_BASE_ALLOCATION) != 1) {
      std::vector<Extent> all;
      if (size_ > 0) all.push_back({0, size_});
      return all;
    }
    return NbdStatusExtents(h_, size_, LIBNBD_CONTEXT_BASE_ALLOCATION, IsAllocated, label_);
  }

  Result<std::optional<std::vector<Extent>>> ChangedExtents() override {
    if (dirty_context_.empty()) return std::optional<std::vector<Extent>>();
    if (nbd_can_meta_context(h_, dirty_context_.c_str()) != 1) {
      return Status::IOError(label_ + ": the server does not offer " + dirty_context_);
    }
    RPFS_ASSIGN_OR_RETURN(auto dirty,
                          NbdStatusExtents(h_, size_, dirty_context_.c_str(), NbdIsDirty, label_));
    return std::optional(std::move(dirty));
  }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (offset + out.size() > size_) return Status::IOError(label_ + ": read past the end");
    return NbdRead(h_, offset, out, label_);
  }

  Status CheckUnchanged() override {
    if (file_.empty()) return Status::OK();  // a point-in-time export cannot change
    return CheckSameFile(file_, st_, label_);
  }

 private:
  std::string label_;
  nbd_handle* h_;
  uint64_t size_;
  std::string file_;
  struct stat st_;
  std::string dirty_context_;
};

}  // namespace

std::string NbdErrorText() {
  const char* e = nbd_get_error();
  return e != nullptr ? e : "unknown libnbd error";
}

Result<std::vector<Extent>> NbdDataExtents(nbd_handle* h, uint64_t size, const std::string& label) {
  if (nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION) != 1) {
    std::vector<Extent> all;
    if (size > 0) all.push_back({0, size});
    return all;
  }
  return NbdStatusExtents(h, size, LIBNBD_CONTEXT_BASE_ALLOCATION, IsAllocated, label);
}

Status NbdRead(nbd_handle* h, uint64_t offset, std::span<std::byte> out, const std::string& label) {
  for (size_t done = 0; done < out.size();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kMaxRequest, out.size() - done));
    if (nbd_pread(h, out.data() + done, n, offset + done, 0) != 0) {
      return Status::IOError("reading " + label + ": " + NbdError());
    }
    done += n;
  }
  return Status::OK();
}

Status NbdWrite(nbd_handle* h, uint64_t offset, std::span<const std::byte> data,
                const std::string& label) {
  for (size_t done = 0; done < data.size();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kMaxRequest, data.size() - done));
    if (nbd_pwrite(h, data.data() + done, n, offset + done, 0) != 0) {
      return Status::IOError("writing " + label + ": " + NbdError());
    }
    done += n;
  }
  return Status::OK();
}

Status NbdZero(nbd_handle* h, uint64_t offset, uint64_t length, const std::string& label) {
  for (uint64_t done = 0; done < length;) {
    uint64_t n = std::min<uint64_t>(kMaxRequest, length - done);
    if (nbd_zero(h, n, offset + done, 0) != 0) {
      return Status::IOError("zeroing " + label + ": " + NbdError());
    }
    done += n;
  }
  return Status::OK();
}

Status NbdFlush(nbd_handle* h, const std::string& label) {
  if (nbd_flush(h, 0) != 0) return Status::IOError("flushing " + label + ": " + NbdError());
  return Status::OK();
}

namespace {

Result<uint64_t> ExportSize(nbd_handle* h, const std::string& label) {
  int64_t size = nbd_get_size(h);
  if (size < 0) return Status::IOError(label + ": " + NbdError());
  RPFS_RETURN_IF_ERROR(CheckDiskSize(static_cast<uint64_t>(size), label));
  return static_cast<uint64_t>(size);
}

}  // namespace

Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& name, const std::string& path,
                                               bool share_writes) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::FromErrno(errno, "image " + name + ": cannot open " + path);
  }
  nbd_handle* h = nbd_create();
  if (h == nullptr) return Status::IOError("libnbd: " + NbdError());
  nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION);
  std::string fmt = "--format=qcow2";
  std::string p = path;
  std::vector<char*> argv = {const_cast<char*>("qemu-nbd"),
                             const_cast<char*>("--read-only"),  // NOLINT
                             fmt.data(), p.data(), nullptr};
  if (share_writes) {
    fmt = "--image-opts";
    p = SharedQcow2ImageOpts(path);
    argv = {const_cast<char*>("qemu-nbd"), const_cast<char*>("--read-only"),  // NOLINT
            fmt.data(), p.data(), nullptr};
  }
  if (nbd_connect_systemd_socket_activation(h, argv.data()) != 0) {
    std::string err = NbdError();
    nbd_close(h);
    return Status::IOError("image " + name + " (" + path +
                           "): qemu-nbd could not serve it: " + err);
  }
  std::string label = "image " + name + " (" + path + ")";
  auto size = ExportSize(h, label);
  if (!size.ok()) {
    nbd_close(h);
    return size.status();
  }
  return std::unique_ptr<ImageSource>(std::make_unique<NbdSource>(label, h, *size, path, st, ""));
}

Result<std::unique_ptr<ImageSource>> OpenNbdExport(const std::string& name,
                                                   const std::string& socket,
                                                   const std::string& export_name,
                                                   const std::string& dirty_context) {
  std::string label = "disk " + name + " (export " + export_name + " on " + socket + ")";
  nbd_handle* h = nbd_create();
  if (h == nullptr) return Status::IOError("libnbd: " + NbdError());
  nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION);
  if (!dirty_context.empty()) nbd_add_meta_context(h, dirty_context.c_str());
  nbd_set_export_name(h, export_name.c_str());
  if (nbd_connect_unix(h, socket.c_str()) != 0) {
    std::string err = NbdError();
    nbd_close(h);
    return Status::IOError(label + ": cannot connect: " + err);
  }
  auto size = ExportSize(h, label);
  if (!size.ok()) {
    nbd_close(h);
    return size.status();
  }
  struct stat none = {};
  return std::unique_ptr<ImageSource>(
      std::make_unique<NbdSource>(label, h, *size, "", none, dirty_context));
}

Result<std::unique_ptr<ImageSource>> OpenImage(const std::string& name, const std::string& path,
                                               format::DiskFormat format, bool share_writes) {
  if (format == format::DiskFormat::kQcow2) return OpenQcow2(name, path, share_writes);
  return OpenRaw(name, path);
}

}  // namespace rpfs::image
