#include "fs/inode_table.h"

namespace rpfs::fs {

std::string NodeKey::Encode() const {
  std::string k(1, static_cast<char>(kind));
  k += vm;
  k.push_back('\0');
  k += std::to_string(rp_id);
  k.push_back('\0');
  k += disk;
  k.push_back('\0');
  k += clone;
  k.push_back('\0');
  k += volume;
  k.push_back('\0');
  k += std::to_string(guest_ino);
  k.push_back('\0');
  k += std::to_string(other_rp_id);
  k.push_back('\0');
  k += snapshot;
  return k;
}

InodeTable::InodeTable() {
  NodeKey root;
  nodes_[kRootInode] = Node{root, 1};
  by_key_[root.Encode()] = kRootInode;
}

InodeNo InodeTable::Ref(const NodeKey& key) {
  std::string k = key.Encode();
  std::lock_guard lock(mu_);
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    nodes_[it->second].lookups++;
    return it->second;
  }
  InodeNo ino = next_++;
  nodes_[ino] = Node{key, 1};
  by_key_[k] = ino;
  return ino;
}

std::optional<NodeKey> InodeTable::Get(InodeNo ino) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return std::nullopt;
  return it->second.key;
}

std::optional<InodeNo> InodeTable::Find(const NodeKey& key) const {
  std::string k = key.Encode();
  std::lock_guard lock(mu_);
  auto it = by_key_.find(k);
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

void InodeTable::Forget(InodeNo ino, uint64_t n) {
  if (ino == kRootInode) return;
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  it->second.lookups = n >= it->second.lookups ? 0 : it->second.lookups - n;
  if (it->second.lookups == 0) {
    by_key_.erase(it->second.key.Encode());
    nodes_.erase(it);
  }
}

size_t InodeTable::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace rpfs::fs
