#include "region/rados_store.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <rados/librados.hpp>
#include <set>

namespace rpfs::region {
namespace {

librados::bufferlist ToBl(const std::string& s) {
  librados::bufferlist bl;
  bl.append(s);
  return bl;
}

std::map<std::string, librados::bufferlist> ToBlMap(const Omap& m) {
  std::map<std::string, librados::bufferlist> out;
  for (const auto& [k, v] : m) out.emplace(k, ToBl(v));
  return out;
}

// One pipelined operation: its completion and whatever its result is read into.
struct Pending {
  librados::AioCompletion* c = nullptr;
  librados::bufferlist data;
  std::map<std::string, librados::bufferlist> omap;
  bool more = false;
  int rval = 0;  // the read's own result (librados writes it on completion)
  int omap_rval = 0;
  int start_error = 0;  // aio_operate refused the operation: it never runs
  ~Pending() {
    if (c != nullptr) c->release();
  }
};

class RadosStore final : public ObjectStore {
 public:
  RadosStore(RadosTarget target, std::unique_ptr<librados::Rados> cluster,
             std::unique_ptr<librados::IoCtx> io)
      : target_(std::move(target)), cluster_(std::move(cluster)), io_(std::move(io)) {}

  ~RadosStore() override {
    io_.reset();
    cluster_->shutdown();
  }

  std::vector<Result<std::string>> ReadMany(const std::vector<std::string>& oids) override {
    std::vector<Result<std::string>> out;
    out.reserve(oids.size());
    ReadEach(oids, [&](size_t, Result<std::string> data) { out.push_back(std::move(data)); });
    return out;
  }

  void ReadEach(const std::vector<std::string>& oids,
                const std::function<void(size_t, Result<std::string>)>& each) override {
    std::vector<Pending> ops(oids.size());
    for (size_t i = 0; i < oids.size(); ++i) {
      librados::ObjectReadOperation op;
      op.read(0, 0, nullptr, &ops[i].rval);  // length 0: the whole object
      Start(oids[i], &op, &ops[i], &ops[i].data);
    }
    // Every operation is waited for, whatever `each` does: each one writes into its Pending.
    for (size_t i = 0; i < oids.size(); ++i) {
      int r = Wait(&ops[i]);
      if (r < 0) {
        each(i, Error(r, oids[i], "reading"));
      } else {
        each(i, ops[i].data.to_str());
      }
    }
  }

  std::vector<Status> CreateMany(const std::vector<NewObject>& objects) override {
    std::vector<Pending> ops(objects.size());
    for (size_t i = 0; i < objects.size(); ++i) {
      librados::ObjectWriteOperation op;
      op.create(true);
      librados::bufferlist bl = ToBl(objects[i].data);
      op.write_full(bl);
      if (!objects[i].omap.empty()) op.omap_set(ToBlMap(objects[i].omap));
      Start(objects[i].oid, &op, &ops[i]);
      written_ += objects[i].data.size();
    }
    return WaitAll(objects, ops, "creating", [](const NewObject& o) { return o.oid; });
  }

  std::vector<Status> SetOmapIfExistsMany(const std::vector<std::string>& oids,
                                          const Omap& omap) override {
    std::vector<Pending> ops(oids.size());
    const auto values = ToBlMap(omap);
    for (size_t i = 0; i < oids.size(); ++i) {
      librados::ObjectWriteOperation op;
      op.assert_exists();
      op.omap_set(values);
      Start(oids[i], &op, &ops[i]);
    }
    return WaitAll(oids, ops, "referencing", [](const std::string& o) { return o; });
  }

  std::vector<Status> RemoveOmapKeysMany(const std::vector<std::string>& oids,
                                         const std::vector<std::string>& keys) override {
    std::vector<Pending> ops(oids.size());
    const std::set<std::string> rm(keys.begin(), keys.end());
    for (size_t i = 0; i < oids.size(); ++i) {
      librados::ObjectWriteOperation op;
      op.assert_exists();
      op.omap_rm_keys(rm);
      Start(oids[i], &op, &ops[i]);
    }
    return WaitAll(oids, ops, "dropping a reference of", [](const std::string& o) { return o; });
  }

  std::vector<OmapSnapshot> GetOmapMany(const std::vector<std::string>& oids) override {
    std::vector<Pending> ops(oids.size());
    for (size_t i = 0; i < oids.size(); ++i) {
      librados::ObjectReadOperation op;
      op.omap_get_vals2("", kOmapPage, &ops[i].omap, &ops[i].more, &ops[i].omap_rval);
      Start(oids[i], &op, &ops[i], nullptr);
    }
    std::vector<OmapSnapshot> out(oids.size());
    for (size_t i = 0; i < oids.size(); ++i) {
      OmapSnapshot& snap = out[i];
      int r = Wait(&ops[i]);
      if (r < 0) {
        snap.status = Error(r, oids[i], "reading the omap of");
        continue;
      }
      snap.version = ops[i].c->get_version64();
      for (auto& [k, v] : ops[i].omap) snap.values.emplace(k, v.to_str());
      if (ops[i].more) {
        // Large omaps (the index) are read on in pages; the version is the first page's,
        // so a guard on it fails if anything changed since.
        snap.status = ReadRestOfOmap(oids[i], &snap);
      }
    }
    return out;
  }

  std::vector<Status> RemoveIfVersionMany(
      const std::vector<std::pair<std::string, uint64_t>>& objects) override {
    std::vector<Pending> ops(objects.size());
    for (size_t i = 0; i < objects.size(); ++i) {
      librados::ObjectWriteOperation op;
      op.assert_version(objects[i].second);
      op.remove();
      Start(objects[i].first, &op, &ops[i]);
    }
    return WaitAll(objects, ops, "removing", [](const auto& o) { return o.first; });
  }

  Status WriteFull(const std::string& oid, const std::string& data) override {
    librados::bufferlist bl = ToBl(data);
    written_ += data.size();
    int r = io_->write_full(oid, bl);
    return r < 0 ? Error(r, oid, "writing") : Status::OK();
  }

  Status UpdateOmap(const std::string& oid, const OmapUpdate& update) override {
    librados::ObjectWriteOperation op;
    std::map<std::string, std::pair<librados::bufferlist, int>> guards;
    // A missing key compares as an empty value, and stored values are never empty.
    for (const auto& k : update.absent)
      guards[k] = {librados::bufferlist(), LIBRADOS_CMPXATTR_OP_EQ};
    for (const auto& [k, v] : update.equal) guards[k] = {ToBl(v), LIBRADOS_CMPXATTR_OP_EQ};
    int cmp_rval = 0;
    if (!guards.empty()) {
      op.create(false);  // the index may not exist yet; omap_cmp needs an object
      op.omap_cmp(guards, &cmp_rval);
    }
    if (!update.set.empty()) op.omap_set(ToBlMap(update.set));
    if (!update.remove.empty()) {
      op.omap_rm_keys(std::set<std::string>(update.remove.begin(), update.remove.end()));
    }
    int r = io_->operate(oid, &op);
    if (r == -ECANCELED || cmp_rval == -ECANCELED) {
      return Status::Aborted("region " + target_.region + ": " + oid + " changed meanwhile");
    }
    return r < 0 ? Error(r, oid, "updating") : Status::OK();
  }

  Status Remove(const std::string& oid) override {
    int r = io_->remove(oid);
    return r < 0 ? Error(r, oid, "removing") : Status::OK();
  }

  Result<std::vector<std::string>> List(const std::string& prefix) override {
    std::vector<std::string> out;
    try {
      for (auto it = io_->nobjects_begin(); it != io_->nobjects_end(); ++it) {
        const std::string& oid = it->get_oid();
        if (oid.compare(0, prefix.size(), prefix) == 0) out.push_back(oid);
      }
    } catch (const std::exception& e) {
      return Status::IOError("region " + target_.region + ": listing the pool: " + e.what());
    }
    return out;
  }

  uint64_t bytes_written() const override { return written_.load(); }

 private:
  static constexpr uint64_t kOmapPage = 4096;

  void Start(const std::string& oid, librados::ObjectWriteOperation* op, Pending* p) {
    p->c = librados::Rados::aio_create_completion();
    int r = io_->aio_operate(oid, p->c, op);
    if (r < 0) p->start_error = r;
  }
  void Start(const std::string& oid, librados::ObjectReadOperation* op, Pending* p,
             librados::bufferlist* out) {
    p->c = librados::Rados::aio_create_completion();
    int r = io_->aio_operate(oid, p->c, op, out);
    if (r < 0) p->start_error = r;
  }
  static int Wait(Pending* p) {
    if (p->start_error < 0) return p->start_error;
    p->c->wait_for_complete();
    int r = p->c->get_return_value();
    if (r >= 0 && p->omap_rval < 0) r = p->omap_rval;
    return r;
  }
  template <typename T, typename NameFn>
  std::vector<Status> WaitAll(const std::vector<T>& items, std::vector<Pending>& ops,
                              const char* what, NameFn name) {
    std::vector<Status> out;
    for (size_t i = 0; i < items.size(); ++i) {
      int r = Wait(&ops[i]);
      out.push_back(r < 0 ? Error(r, name(items[i]), what) : Status::OK());
    }
    return out;
  }

  Status ReadRestOfOmap(const std::string& oid, OmapSnapshot* snap) {
    bool more = true;
    while (more) {
      std::map<std::string, librados::bufferlist> page;
      const std::string after = snap->values.empty() ? "" : snap->values.rbegin()->first;
      int r = io_->omap_get_vals2(oid, after, kOmapPage, &page, &more);
      if (r < 0) return Error(r, oid, "reading the omap of");
      for (auto& [k, v] : page) snap->values.emplace(k, v.to_str());
    }
    return Status::OK();
  }

  Status Error(int r, const std::string& oid, const char* what) const {
    const int err = -r;
    const std::string where = "region " + target_.region + ": " + what + " " + oid;
    switch (err) {
      case ENOENT:
        return Status::NotFound(where + ": no such object");
      case EEXIST:
        return Status::AlreadyExists(where + ": exists");
      case ERANGE:
      case EOVERFLOW:
      case ECANCELED:
        return Status::Aborted(where + ": changed meanwhile");
      case ETIMEDOUT:
        return Status::IOError(where + ": timed out after " +
                                   std::to_string(target_.timeout_seconds) +
                                   " s (is the cluster up?)",
                               EIO);
      default:
        return Status::IOError(where + ": " + std::strerror(err), EIO);
    }
  }

  RadosTarget target_;
  std::unique_ptr<librados::Rados> cluster_;
  std::unique_ptr<librados::IoCtx> io_;
  std::atomic<uint64_t> written_{0};
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> ConnectRados(const RadosTarget& target) {
  const std::string label = "region " + target.region;
  auto cluster = std::make_unique<librados::Rados>();
  const std::string user = "client." + target.client_id;
  int r = cluster->init2(user.c_str(), "ceph", 0);
  if (r < 0) return Status::IOError(label + ": " + std::strerror(-r));
  auto fail = [&](const std::string& what, int rr) {
    cluster->shutdown();
    return Status::IOError(label + ": " + what + ": " + std::strerror(-rr), EIO);
  };
  r = cluster->conf_read_file(target.ceph_conf.c_str());
  if (r < 0) return fail("reading " + target.ceph_conf, r);
  const std::string timeout = std::to_string(target.timeout_seconds);
  for (const char* key : {"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"}) {
    r = cluster->conf_set(key, timeout.c_str());
    if (r < 0) return fail(std::string("setting ") + key, r);
  }
  // Ceph's own log goes nowhere: rpfs reports what failed itself.
  (void)cluster->conf_set("log_to_stderr", "false");
  (void)cluster->conf_set("err_to_stderr", "false");
  (void)cluster->conf_set("log_file", "");
  r = cluster->connect();
  if (r < 0) {
    return fail("cannot reach the cluster of " + target.ceph_conf + " within " + timeout + " s", r);
  }
  auto io = std::make_unique<librados::IoCtx>();
  r = cluster->ioctx_create(target.pool.c_str(), *io);
  if (r == -ENOENT) {
    cluster->shutdown();
    return Status::NotFound(label + ": pool " + target.pool + " does not exist");
  }
  if (r < 0) return fail("opening pool " + target.pool, r);
  return std::unique_ptr<ObjectStore>(
      std::make_unique<RadosStore>(target, std::move(cluster), std::move(io)));
}

}  // namespace rpfs::region
