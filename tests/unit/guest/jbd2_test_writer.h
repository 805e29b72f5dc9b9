// A test-only writer of jbd2 journals in memory, from the format description, so the replay
// can be checked on exactly the cases that matter (checksum versions, tag sizes, revokes,
// escapes, torn and damaged transactions, a log that wraps around).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "guest/crc32c.h"
#include "guest/disk_endian.h"
#include "guest/jbd2_superblock.h"

namespace rpfs::guest::testing {

struct TestTransaction {
  std::vector<std::pair<uint64_t, std::string>> blocks;  // fs block -> content
  std::vector<uint64_t> revokes;
  bool commit = true;
  bool corrupt_commit_checksum = false;
  int corrupt_data_checksum_of = -1;  // index into blocks
};

class JournalWriter {
 public:
  JournalWriter(uint32_t block_size, uint32_t maxlen, uint32_t incompat, bool v1 = false)
      : block_size_(block_size), maxlen_(maxlen), incompat_(incompat), v1_(v1) {
    image_.assign(size_t{block_size} * maxlen, '\0');
    for (int i = 0; i < 16; ++i) uuid_[i] = static_cast<char>(0x10 + i);
    seed_ = Crc32c(~0u, uuid_);
  }

  // Where the log starts and its first sequence number; the cursor moves from there.
  void Start(uint32_t block, uint32_t sequence) {
    start_ = cursor_ = block;
    first_sequence_ = sequence_ = sequence;
  }
  void SetStartZero() { start_ = 0; }

  void Add(const TestTransaction& t) {
    if (!t.blocks.empty()) {
      std::string desc = Header(jbd2::kDescriptorBlock);
      size_t off = 12;
      std::vector<std::string> data;
      for (size_t i = 0; i < t.blocks.size(); ++i) {
        auto [fs_block, content] = t.blocks[i];
        content.resize(block_size_, '\0');
        uint32_t flags = i == 0 ? 0 : jbd2::kTagSameUuid;
        if (i + 1 == t.blocks.size()) flags |= jbd2::kTagLast;
        if (Be32(content, 0) == jbd2::kMagic) {
          flags |= jbd2::kTagEscape;
          StoreBe32(content, 0, 0);
        }
        std::string seq(4, '\0');
        StoreBe32(seq, 0, sequence_);
        uint32_t csum = Crc32c(Crc32c(seed_, seq), content);
        if (static_cast<int>(i) == t.corrupt_data_checksum_of) csum ^= 1;
        StoreBe32(desc, off, static_cast<uint32_t>(fs_block));
        if (incompat_ & jbd2::kIncompatCsumV3) {
          StoreBe32(desc, off + 4, flags);
          StoreBe32(desc, off + 8, static_cast<uint32_t>(fs_block >> 32));
          StoreBe32(desc, off + 12, csum);
        } else {
          Store16(desc, off + 4, csum & 0xFFFF);
          Store16(desc, off + 6, flags);
          if (incompat_ & jbd2::kIncompat64Bit) {
            StoreBe32(desc, off + 8, static_cast<uint32_t>(fs_block >> 32));
          }
        }
        off += TagBytes();
        if (!(flags & jbd2::kTagSameUuid)) {
          desc.replace(off, 16, uuid_);
          off += 16;
        }
        data.push_back(content);
      }
      Put(Tail(desc, block_size_ - 4));
      for (const std::string& d : data) Put(d);
    }
    if (!t.revokes.empty()) {
      std::string rev = Header(jbd2::kRevokeBlock);
      size_t width = (incompat_ & jbd2::kIncompat64Bit) ? 8 : 4;
      size_t off = 16;
      for (uint64_t b : t.revokes) {
        if (width == 8) StoreBe32(rev, off, static_cast<uint32_t>(b >> 32));
        StoreBe32(rev, off + width - 4, static_cast<uint32_t>(b));
        off += width;
      }
      StoreBe32(rev, 12, static_cast<uint32_t>(off));
      Put(Tail(rev, block_size_ - 4));
    }
    if (t.commit) {
      std::string commit = Header(jbd2::kCommitBlock);
      if (Csum()) {
        commit[12] = 4;
        commit[13] = 4;
      }
      commit = Tail(commit, 0x10);
      if (t.corrupt_commit_checksum) commit[0x10] = static_cast<char>(commit[0x10] ^ 1);
      Put(commit);
    }
    ++sequence_;
  }

  std::string Build() {
    std::string sb(block_size_, '\0');
    StoreBe32(sb, 0, jbd2::kMagic);
    StoreBe32(sb, 4, v1_ ? jbd2::kSuperblockV1 : jbd2::kSuperblockV2);
    StoreBe32(sb, 0xC, block_size_);
    StoreBe32(sb, 0x10, maxlen_);
    StoreBe32(sb, 0x14, 1);
    StoreBe32(sb, 0x18, first_sequence_);
    StoreBe32(sb, 0x1C, start_);
    if (!v1_) {
      StoreBe32(sb, 0x28, incompat_);
      sb.replace(0x30, 16, uuid_);
      if (Csum()) {
        sb[0x50] = 4;
        StoreBe32(sb, 0xFC, Crc32c(~0u, std::string_view(sb).substr(0, 1024)));
      }
    }
    std::string out = image_;
    out.replace(0, block_size_, sb);
    return out;
  }

  // Overwrites journal block `block` (tests that damage the log by hand).
  void Poke(uint32_t block, size_t offset, char value) {
    image_[size_t{block} * block_size_ + offset] = value;
  }
  uint32_t cursor() const { return cursor_; }

 private:
  bool Csum() const { return incompat_ & (jbd2::kIncompatCsumV2 | jbd2::kIncompatCsumV3); }
  size_t TagBytes() const {
    jbd2::JournalSuperblock sb;
    sb.incompat = incompat_;
    return sb.tag_bytes();
  }
  static void Store16(std::string& s, size_t off, uint32_t v) {
    s[off] = static_cast<char>((v >> 8) & 0xFF);
    s[off + 1] = static_cast<char>(v & 0xFF);
  }
  std::string Header(uint32_t type) const {
    std::string b(block_size_, '\0');
    StoreBe32(b, 0, jbd2::kMagic);
    StoreBe32(b, 4, type);
    StoreBe32(b, 8, sequence_);
    return b;
  }
  std::string Tail(std::string b, size_t field) const {
    if (Csum()) StoreBe32(b, field, Crc32c(seed_, b));
    return b;
  }
  void Put(const std::string& block) {
    image_.replace(size_t{cursor_} * block_size_, block_size_, block);
    cursor_ = cursor_ + 1 == maxlen_ ? 1 : cursor_ + 1;
  }

  uint32_t block_size_;
  uint32_t maxlen_;
  uint32_t incompat_;
  bool v1_;
  std::string image_;
  std::string uuid_ = std::string(16, '\0');
  uint32_t seed_ = 0;
  uint32_t start_ = 1;
  uint32_t cursor_ = 1;
  uint32_t first_sequence_ = 1;
  uint32_t sequence_ = 1;
};

}  // namespace rpfs::guest::testing
