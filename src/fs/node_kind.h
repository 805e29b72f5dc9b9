// Mount node kinds: every NodeKind (inode_table.h) is declared once, as one NodeKindOps —
// its attributes, its children (directories), how it opens, whether the kernel may cache
// its pages, and which attribute changes it accepts. Filesystem dispatches every request on
// a node through KindOps(key.kind); no other code switches over NodeKind.
//
// Adding a kind: a value in NodeKind, a class in the nodes_*.cc of its group (nodes_vm.cc:
// the root and a VM's own files; nodes_rp.cc: an RP directory; nodes_clone.cc: clones), its
// name in fs/names.h, and its registration in node_kind.cc (-Wswitch names a kind without
// one). The table of kinds is in docs/fuse-semantics.md ("Node kinds").
//
// Attributes come in two steps so that a listing and a getattr agree by construction:
// Load() fetches what a node's attributes are made from (NodeFacts), AttrOf() turns facts
// into attributes. GetAttr runs both; ReadDir takes the facts a directory already loaded
// for its children (ListChildren) and runs the child kind's AttrOf on them.
//
// Generated texts (info, .status, .prune-preview, clone .status) are made at open only and
// report size 0 (GeneratedTextKind); the adapter opens every file that does not use the
// page cache with direct_io, so a read goes on until the text ends.
//
// Kinds are stateless singletons; what they share (the Repository, the control operations,
// owners given to clone disks) is in NodeContext. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "control/operations.h"
#include "fs/access.h"
#include "fs/dir_times.h"
#include "fs/filesystem.h"
#include "fs/guest_volumes.h"
#include "fs/inode_table.h"
#include "fs/names.h"  // after inode_table.h: NodeKind::kClonesDir must not shadow kClonesDir
#include "rpfs/repository.h"
#include "rpfs/status.h"

namespace rpfs::fs {

// Owners given to clone disks by chown, kept for as long as the mount lives. Thread-safe.
class CloneOwners {
 public:
  using Owner = std::pair<uint32_t, uint32_t>;  // uid, gid
  std::optional<Owner> Get(const NodeKey& key) const;
  // Applies `change`'s uid/gid (unset ones start as the daemon's own) and returns the owner.
  Owner Set(const NodeKey& key, const AttrChange& change);

 private:
  mutable std::mutex mu_;                // guards owners_
  std::map<std::string, Owner> owners_;  // by NodeKey::Encode()
};

// What the kinds use; owned by the Filesystem, outlives every call.
struct NodeContext {
  NodeContext(Repository* r, control::Operations* o, MountAccess a, GuestOpener opener)
      : repo(r), ops(o), access(a), volumes(r, std::move(opener)), dir_times(r) {}
  Repository* repo;
  control::Operations* ops;
  const MountAccess access;  // who may read what (access.h)
  CloneOwners clone_owners;
  GuestVolumes volumes;                 // the guest files under every RP (guest_volumes.h)
  DirTimes dir_times;                   // mtimes of the root, VM and .clones directories
  std::atomic<uint64_t> texts_made{0};  // generated texts made (node_texts.h), for tests
};

// An open file; one per Open, shared by the requests that use it.
struct FileHandle {
  std::unique_ptr<DiskReader> disk;        // RP disks and memory state
  std::string text;                        // generated texts and domain.xml, made at open
  std::string control_vm;                  // .control: the VM its commands act on
  std::shared_ptr<CloneDisk> clone;        // clone disks
  std::shared_ptr<GuestFileReader> guest;  // guest files and raw volume slices
  std::shared_ptr<const std::vector<DirEntry>> listing;  // directories (OpenDir)
};

// What a node's attributes are made from: loaded by its kind's Load() for a getattr, or by
// its directory's ListChildren() for a whole listing.
struct NodeFacts {
  std::shared_ptr<const RpInfo> rp;              // an RP directory and its files
  std::shared_ptr<const CloneInfo> clone;        // a clone directory and its files
  std::shared_ptr<const guest::FileAttr> guest;  // a guest file (with `rp`: whose disk it is on)
};

// One entry of a directory, with the facts its attributes are made from.
struct ChildNode {
  std::string name;
  NodeKey key;
  NodeFacts facts;
};

class NodeKindOps {
 public:
  virtual ~NodeKindOps() = default;

  // Checks that `key` still exists and loads its facts; NotFound when it is gone.
  virtual Result<NodeFacts> Load(NodeContext& ctx, const NodeKey& key) const = 0;
  // The attributes of `key` made from `facts` (ino 0: the caller fills it). Cheap: never
  // makes a generated text.
  virtual Result<Attr> AttrOf(NodeContext& ctx, const NodeKey& key,
                              const NodeFacts& facts) const = 0;
  // Directories: the node called `name` (NotFound when none) and every child.
  // Files: NotADirectory.
  virtual Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                                      const std::string& name) const = 0;
  virtual Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx,
                                                      const NodeKey& dir) const = 0;
  // Files: checks the access `flags` ask for and fills `h`. Directories: IsADirectory
  // (ReadOnly when `flags` ask to write).
  virtual Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const = 0;
  // An attribute change; the node's attributes afterwards. Default: ReadOnly.
  virtual Result<Attr> SetAttr(NodeContext& ctx, const NodeKey& key,
                               const AttrChange& change) const;
  // Whether the kernel may keep this kind's pages (keep_cache); otherwise it is opened
  // direct_io and every read comes to us. Default: no.
  virtual bool UsesPageCache() const { return false; }
  // Symbolic links: the target. Default: InvalidArgument (readlink of a non-link is EINVAL).
  virtual Result<std::string> ReadLink(NodeContext& ctx, const NodeKey& key) const;
  // Extended attributes shown on the node (name -> value). Default: NotSupported (ENOTSUP).
  virtual Result<std::vector<std::pair<std::string, std::string>>> Xattrs(NodeContext& ctx,
                                                                          const NodeKey& key) const;

  // Load() then AttrOf(): the attributes of `key` now.
  Result<Attr> Current(NodeContext& ctx, const NodeKey& key) const;
};

// The ops of `kind`; the registry is node_kind.cc.
const NodeKindOps& KindOps(NodeKind kind);

// A directory: opening it is IsADirectory.
class DirectoryKind : public NodeKindOps {
 public:
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const override;
};

// A file: no children.
class FileKind : public NodeKindOps {
 public:
  Result<NodeKey> LookupChild(NodeContext& ctx, const NodeKey& dir,
                              const std::string& name) const override;
  Result<std::vector<ChildNode>> ListChildren(NodeContext& ctx, const NodeKey& dir) const override;
};

// A read-only file whose text is made when it is opened and kept by the handle. Its size
// is reported as 0 (a getattr makes no text; /proc does the same): it never uses the page
// cache, so the adapter opens it direct_io and reads go on until the text ends.
class GeneratedTextKind : public FileKind {
 public:
  Status Open(NodeContext& ctx, const NodeKey& key, int flags, FileHandle* h) const final;
  bool UsesPageCache() const final { return false; }

 protected:
  // The text, made with the functions of node_texts.h (they count what they make).
  virtual Result<std::string> MakeText(NodeContext& ctx, const NodeKey& key) const = 0;
  // Readable by the mount owner (access.h), size 0, modified at `mtime_us`, not immutable
  // (the text changes).
  static Attr TextAttr(const NodeContext& ctx, int64_t mtime_us);
};

// The attributes of a node of file type `type` (S_IFDIR, S_IFREG) with access `a`.
Attr MakeAttr(mode_t type, const NodeAccess& a, uint64_t size, int64_t mtime_us, uint32_t nlink,
              bool immutable);

// ReadOnly when `flags` ask to write or truncate.
Status CheckReadOnlyOpen(int flags);
// Load() helpers: the facts of a node of VM `key.vm` (none: checks the VM exists), of RP
// `key.rp_id`, of clone `key.clone`.
Result<NodeFacts> LoadVm(NodeContext& ctx, const NodeKey& key);
Result<NodeFacts> LoadRp(NodeContext& ctx, const NodeKey& key);
Result<NodeFacts> LoadClone(NodeContext& ctx, const NodeKey& key);
// The RP a node of an RP loaded (LoadRp) is in; facts.rp must be set.
const RpInfo& RpOf(const NodeFacts& facts);
// A child key of `dir` (same VM, RP and clone) of kind `kind`.
NodeKey ChildKey(const NodeKey& dir, NodeKind kind);

}  // namespace rpfs::fs
