// RpCreation: the one way a recovery point is made, in three named steps that every caller
// (CreateRp, rollback's undo RP, and later a region pull or a drill) runs in order:
//
//   Prepare  checks the name, opens what will be read (the VM's images, or a libvirt
//            domain's point in time) and sums its data extents.                no lock
//   Ingest   begins the store's WriteTx (write_mu for that instant only), then reads
//            every disk and writes new chunks and pages into the tx.            no lock
//   Commit   takes write_mu, re-reads the VM record and checks again what may have
//            changed while the disks were read (the VM's disks, its domain, the name),
//            then publishes the RP and the VM's new current RP in one synced batch.
//
// The caller holds the create lock (WriteGate::LockForCreate) from Prepare to Commit: the
// store has one WriteTx at a time. Meanwhile deletes, renames and clones commit, and the
// store frees nothing until the tx ends (store.h), so a chunk Ingest found present is still
// there at Commit. Destroying an RpCreation before Commit abandons the tx (its objects go).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "rp/domain_points.h"
#include "rp/ingest.h"
#include "rpfs/repository.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/thread_pool.h"

namespace rpfs::rp {

// The most RPs one VM may hold; a create beyond it is NoSpace (ENOSPC) naming the limit.
inline constexpr size_t kMaxRpsPerVm = 10000;

struct RepositoryParts;

class RpCreation {
 public:
  static Result<std::unique_ptr<RpCreation>> Prepare(RepositoryParts* parts, const std::string& vm,
                                                     const std::string& rp,
                                                     const CreateOptions& opts);
  RpCreation(const RpCreation&) = delete;
  RpCreation& operator=(const RpCreation&) = delete;
  ~RpCreation();

  // An RP read from `input` rather than the VM's disks (a region pull): outside the VM's
  // lineage (no parent, never its current RP). A VM that does not exist is made at the
  // commit, without disks.
  static Result<std::unique_ptr<RpCreation>> PrepareImport(
      RepositoryParts* parts, const std::string& vm, const std::string& rp,
      const CreateOptions& opts, PointInput input, std::string domain_xml);

  Status Ingest(const ProgressFn& progress);
  Result<RpInfo> Commit();

  const std::string& label() const { return label_; }

 private:
  RpCreation(RepositoryParts* parts, std::string vm, std::string rp, const CreateOptions& opts);
  Status IngestMemory();
  // A libvirt disk whose source path differs from the VM record's (another file since the
  // last RP): logged, and its changed-block list is dropped so it is read in full.
  bool SourceMoved(const std::string& disk) const;
  // Under write_mu: the VM record as it is now, Busy/NotFound/AlreadyExists if what the
  // disks were read for no longer holds.
  Result<format::VmRecord> Revalidate();
  // The checks every RP's name and VM go through before anything is read.
  Status CheckNewRp();

  RepositoryParts* const parts_;
  const std::string vm_;
  const std::string rp_;
  const CreateOptions opts_;
  const std::string label_;  // "creating rp web01/day1": context of every error
  format::VmRecord vm_at_prepare_;
  std::optional<format::RpRecord> base_rp_;  // the VM's current RP when prepared
  PointInput input_;
  uint64_t total_bytes_ = 0;  // data extents to read, for progress
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<store::WriteTx> tx_;
  store::Mutation mutation_;
  IngestContext ctx_;
  format::RpRecord rec_;
  bool ingested_ = false;
  bool imported_ = false;                   // PrepareImport
  bool vm_is_new_ = false;                  // imported into a VM this commit makes
  const int64_t started_us_ = NowMicros();  // the create's start: its duration is recorded
};

}  // namespace rpfs::rp
