#include "format/keys.h"

#include "util/coding.h"

namespace rpfs::format {
namespace {

std::string WithPrefix(char prefix, std::string_view rest) {
  std::string k(1, prefix);
  k.append(rest);
  return k;
}

void AppendObject(std::string* k, const ObjectId& id) {
  k->push_back(static_cast<char>(id.kind));
  k->append(id.digest.View());
}

}  // namespace

std::string StoreConfigKey() { return "S"; }
std::string CounterKey(std::string_view name) { return WithPrefix('K', name); }

std::string VmKey(std::string_view vm) { return WithPrefix('V', vm); }
std::string VmPrefix() { return "V"; }
std::string VmNameFromKey(std::string_view key) { return std::string(key.substr(1)); }

std::string RpPrefix(std::string_view vm) {
  std::string k = WithPrefix('P', vm);
  k.push_back('\0');
  return k;
}
std::string AllRpPrefix() { return "P"; }
std::string RpKey(std::string_view vm, uint64_t id) {
  std::string k = RpPrefix(vm);
  PutBigEndian64(&k, id);
  return k;
}
std::string RpNameKey(std::string_view vm, std::string_view name) {
  std::string k = WithPrefix('N', vm);
  k.push_back('\0');
  k.append(name);
  return k;
}

std::string PolicyKey(std::string_view vm) { return WithPrefix('R', vm); }
std::string RegionKey(std::string_view region) { return WithPrefix('X', region); }
std::string RegionPrefix() { return "X"; }
std::string AllClonePrefix() { return "C"; }
std::string ClonePrefix(std::string_view vm) {
  std::string k = WithPrefix('C', vm);
  k.push_back('\0');
  return k;
}
std::string CloneKey(std::string_view vm, std::string_view clone) {
  std::string k = ClonePrefix(vm);
  k.append(clone);
  return k;
}

std::string TxPrefix() { return "T"; }
std::string TxKey(uint64_t tx) {
  std::string k = TxPrefix();
  PutBigEndian64(&k, tx);
  return k;
}
uint64_t TxIdFromKey(std::string_view key) {
  if (key.size() != 9) return 0;  // malformed: no tx has id 0
  return GetBigEndian64(key.substr(1));
}
std::string TxObjectPrefix(uint64_t tx) {
  std::string k = "U";
  PutBigEndian64(&k, tx);
  return k;
}
std::string TxObjectKey(uint64_t tx, const ObjectId& id) {
  std::string k = TxObjectPrefix(tx);
  AppendObject(&k, id);
  return k;
}

std::string DeferredRpPrefix() { return "D"; }
std::string DeferredRpKey(uint64_t rp_id) {
  std::string k = DeferredRpPrefix();
  PutBigEndian64(&k, rp_id);
  return k;
}

uint64_t DeferredRpIdFromKey(std::string_view key) {
  if (key.size() != 9) return 0;  // malformed: no RP has id 0
  return GetBigEndian64(key.substr(1));
}

std::string EncodeRpNameIndex(uint64_t rp_id) {
  std::string v;
  PutBigEndian64(&v, rp_id);
  return v;
}

Result<uint64_t> DecodeRpNameIndex(std::string_view value) {
  if (value.size() != 8) return Status::Corruption("rp name index entry is malformed");
  return GetBigEndian64(value);
}

std::string GcPrefix() { return "G"; }
std::string GcKey(const ObjectId& id) {
  std::string k = GcPrefix();
  AppendObject(&k, id);
  return k;
}

std::string ObjectKey(const ObjectId& id) {
  std::string k;
  AppendObject(&k, id);
  return k;
}

Result<ObjectId> ObjectIdFromKey(std::string_view key) {
  if (key.size() != 1 + Digest::kSize) return Status::Corruption("object key has a bad length");
  ObjectId id;
  if (key[0] != static_cast<char>(ObjectKind::kChunk) &&
      key[0] != static_cast<char>(ObjectKind::kPage)) {
    return Status::Corruption("object key has an unknown kind");
  }
  id.kind = static_cast<ObjectKind>(key[0]);
  RPFS_ASSIGN_OR_RETURN(id.digest, Digest::FromBytes(key.substr(1)));
  return id;
}

Result<ObjectId> ObjectIdFromSuffix(std::string_view key) {
  if (key.size() < 1 + Digest::kSize) return Status::Corruption("key too short for an object");
  return ObjectIdFromKey(key.substr(key.size() - 1 - Digest::kSize));
}

}  // namespace rpfs::format
