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

std::string NbdError() {
  const char* e = nbd_get_error();
  return e != nullptr ? e : "unknown libnbd error";
}

class NbdSource final : public ImageSource {
 public:
  NbdSource(std::string name, std::string path, nbd_handle* h, uint64_t size, struct stat st)
      : name_(std::move(name)), path_(std::move(path)), h_(h), size_(size), st_(st) {}
  ~NbdSource() override {
    nbd_shutdown(h_, 0);
    nbd_close(h_);
  }

  uint64_t size() const override { return size_; }

  Result<std::vector<Extent>> DataExtents() override {
    std::vector<Extent> out;
    if (nbd_can_meta_context(h_, LIBNBD_CONTEXT_BASE_ALLOCATION) != 1) {
      if (size_ > 0) out.push_back({0, size_});
      return out;
    }
    uint64_t pos = 0;
    while (pos < size_) {
      struct Ctx {
        std::vector<Extent>* out;
        uint64_t end;
      } ctx{&out, pos};
      nbd_extent_callback cb = {};
      cb.user_data = &ctx;
      cb.callback = [](void* user, const char* meta, uint64_t offset, uint32_t* entries, size_t n,
                       int*) -> int {
        auto* c = static_cast<Ctx*>(user);
        if (std::string_view(meta) != LIBNBD_CONTEXT_BASE_ALLOCATION) return 0;
        for (size_t i = 0; i + 1 < n; i += 2) {
          uint64_t len = entries[i];
          bool zero = (entries[i + 1] & LIBNBD_STATE_ZERO) != 0;
          if (!zero && len > 0) {
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
      uint64_t count = std::min(kMaxStatusRequest, size_ - pos);
      std::lock_guard lock(mu_);
      if (nbd_block_status(h_, count, pos, cb, 0) != 0) {
        return Status::IOError("block status of image " + name_ + " (" + path_ +
                               "): " + NbdError());
      }
      if (ctx.end <= pos) break;  // server made no progress: treat the rest as data
      pos = ctx.end;
    }
    if (!out.empty() && out.back().offset + out.back().length > size_) {
      out.back().length = size_ - out.back().offset;
    }
    return out;
  }

  Status ReadAt(uint64_t offset, std::span<std::byte> out) override {
    if (offset + out.size() > size_) {
      return Status::IOError("image " + name_ + " (" + path_ + "): read past the end");
    }
    size_t done = 0;
    while (done < out.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kMaxRequest, out.size() - done));
      if (nbd_pread(h_, out.data() + done, n, offset + done, 0) != 0) {
        return Status::IOError("reading image " + name_ + " (" + path_ + "): " + NbdError());
      }
      done += n;
    }
    return Status::OK();
  }

  Status CheckUnchanged() override {
    return CheckSameFile(path_, st_, "image " + name_ + " (" + path_ + ")");
  }

 private:
  std::string name_;
  std::string path_;
  nbd_handle* h_;
  uint64_t size_;
  struct stat st_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<ImageSource>> OpenQcow2(const std::string& name, const std::string& path) {
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
  if (nbd_connect_systemd_socket_activation(h, argv.data()) != 0) {
    std::string err = NbdError();
    nbd_close(h);
    return Status::IOError("image " + name + " (" + path +
                           "): qemu-nbd could not serve it: " + err);
  }
  int64_t size = nbd_get_size(h);
  if (size < 0) {
    std::string err = NbdError();
    nbd_close(h);
    return Status::IOError("image " + name + " (" + path + "): " + err);
  }
  return std::unique_ptr<ImageSource>(
      std::make_unique<NbdSource>(name, path, h, static_cast<uint64_t>(size), st));
}

Result<std::unique_ptr<ImageSource>> OpenImage(const std::string& name, const std::string& path,
                                               format::DiskFormat format) {
  if (format == format::DiskFormat::kQcow2) return OpenQcow2(name, path);
  return OpenRaw(name, path);
}

}  // namespace rpfs::image
