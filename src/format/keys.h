// Every RocksDB key of an rpfs store. No other file builds keys.
//
// PERSISTED FORMAT. Column families:
//   "default"  store metadata, keyed by a one-byte prefix:
//     'S'                          StoreConfig
//     'K' <counter name>           fixed64 counters (next RP id, next tx id)
//     'V' <vm>                     VmRecord
//     'P' <vm> 0x00 <be64 rp id>   RpRecord   (RPs of a VM iterate in creation order)
//     'N' <vm> 0x00 <rp name>      be64 rp id (name index)
//     'C' <vm> 0x00 <clone name>   CloneRecord
//     'R' <vm>                     PolicyRecord (the VM's retention policy)
//     'X' <region name>            RegionRecord (a Ceph RADOS pool pushes go to)
//     'T' <be64 tx id>             TxRecord (in flight)
//     'U' <be64 tx id> <object>    empty: an object written by that tx, not yet committed
//     'G' <object>                 empty: an object whose refcount reached 0, to be freed
//     'D' <be64 rp id>             RpRecord of a deleted RP whose root references are kept
//                                  until its last reader closes (released on next open)
//   "objects"  <object> -> ObjectMeta          (refcounts and sizes)
//   "chunks"   <digest> -> encoded chunk body  (BlobDB)
//   "pages"    <digest> -> extent-map page
// where <object> is the ObjectKind byte followed by the 32-byte digest.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "format/records.h"

namespace rpfs::format {

inline constexpr char kCfObjects[] = "objects";
inline constexpr char kCfChunks[] = "chunks";
inline constexpr char kCfPages[] = "pages";

std::string StoreConfigKey();
std::string CounterKey(std::string_view name);
inline constexpr char kCounterRpId[] = "rp";
inline constexpr char kCounterTxId[] = "tx";
// Bytes freed by deletes since the last compaction (persisted: the reclaim trigger).
inline constexpr char kCounterReclaimable[] = "reclaimable";
// The last verify: fixed64 time_us | fixed64 ok (0/1) | fixed64 sample percent.
inline constexpr char kCounterLastVerify[] = "last-verify";

std::string VmKey(std::string_view vm);
std::string VmPrefix();
std::string VmNameFromKey(std::string_view key);

std::string RpKey(std::string_view vm, uint64_t id);
std::string RpPrefix(std::string_view vm);  // all RPs of one VM
std::string AllRpPrefix();                  // all RPs of all VMs
std::string RpNameKey(std::string_view vm, std::string_view name);
// The value under RpNameKey: the RP's id (8 bytes, big-endian).
std::string EncodeRpNameIndex(uint64_t rp_id);
Result<uint64_t> DecodeRpNameIndex(std::string_view value);  // Corruption when malformed

std::string PolicyKey(std::string_view vm);
std::string RegionKey(std::string_view region);
std::string RegionPrefix();  // every region
std::string CloneKey(std::string_view vm, std::string_view clone);
std::string ClonePrefix(std::string_view vm);  // all clones of one VM
std::string AllClonePrefix();

std::string TxKey(uint64_t tx);
std::string TxPrefix();
uint64_t TxIdFromKey(std::string_view key);  // 0 when malformed
std::string TxObjectKey(uint64_t tx, const ObjectId& id);
std::string TxObjectPrefix(uint64_t tx);

std::string DeferredRpKey(uint64_t rp_id);
std::string DeferredRpPrefix();
uint64_t DeferredRpIdFromKey(std::string_view key);  // 0 when malformed

std::string GcKey(const ObjectId& id);
std::string GcPrefix();

std::string ObjectKey(const ObjectId& id);  // key in "objects"
Result<ObjectId> ObjectIdFromKey(std::string_view key);
// Key in "objects", "chunks" or "pages" suffix: parses the trailing <object> of T/U/G keys.
Result<ObjectId> ObjectIdFromSuffix(std::string_view key);

}  // namespace rpfs::format
