// The lock order of the rp layer, in one table. Every mutex below is an OrderedMutex
// (util/ordered_mutex.h) with this rank, and a thread may take them only in increasing
// rank: a violation aborts at once, naming both locks, in every build and every test.
//
//   rank  lock                         owner                 held for
//   10    create_mu                    WriteGate             a whole create or rollback (one
//                                                            at a time: one WriteTx at a time)
//   20    listener_mu                  WriteGate             a call of the change listener;
//                                                            never taken with write_mu held
//   30    write_mu                     WriteGate             one store mutation: a commit, the
//                                                            begin of a create's WriteTx, GC
//   40    ReaderPins::mu_              ReaderPins            a pin; a delete's check..commit
//   50    clones_mu                    CloneRegistry         the open clone disks; a clone
//                                                            delete's check..commit
//   60    hypervisors_mu               DomainPoints          the libvirt connection cache
//
// Leaves (plain std::mutex, never held while calling out of their class): PageCache,
// ChunkCache, ThreadPool, CloneDiskImpl internals, WriteGate::chores_mu_, and the ingest's
// buffer pool and tx_mu_ (rp/ingest.cc). The store takes no lock of ours and never calls
// back into the repository.
//
// Callbacks leave the layer only with no rank >= 30 held: the change listener is called
// after write_mu is released (WriteGate::WriteLock queues the changes), so the listener may
// take the mount's own locks and even read the repository.
#pragma once

namespace rpfs::rp {

enum LockRank : int {
  kRankCreate = 10,
  kRankListener = 20,
  kRankWrite = 30,
  kRankPins = 40,
  kRankClones = 50,
  kRankHypervisors = 60,
};

}  // namespace rpfs::rp
