// Builders of disk images for tests: deterministic pseudo-random content, holes, edits.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rpfs::testing {

// Deterministic bytes: the same (seed, offset) always gives the same byte stream.
std::vector<std::byte> PatternBytes(uint64_t seed, size_t n);
// Compressible text-like bytes (so zstd has work to do).
std::vector<std::byte> TextBytes(uint64_t seed, size_t n);

// Creates (or truncates) `path` as a sparse file of `size` bytes.
void MakeSparseFile(const std::string& path, uint64_t size);
// Writes `data` at `offset` of an existing file.
void WriteAt(const std::string& path, uint64_t offset, const std::vector<std::byte>& data);
// Reads the whole file.
std::vector<std::byte> ReadAll(const std::string& path);
// Copies a file (content only).
void CopyFile(const std::string& from, const std::string& to);
// Flips one byte of the largest RocksDB blob file under `store`: by default 4 KiB past its
// middle, inside a chunk's stored bytes (the middle itself may be a record header when the
// chunks are stored raw), else at `at`. Returns false when there is no blob file.
bool FlipByteInLargestBlob(const std::string& store, std::optional<uint64_t> at = std::nullopt);
// Bytes of files under `dir`, recursively.
uint64_t DirBytes(const std::string& dir);
// Pages of the file's first `length` bytes (a multiple of 4096) in the page cache: whether
// a read or write went direct. Throws when the file cannot be mapped.
size_t CachedPages(const std::string& path, size_t length);

}  // namespace rpfs::testing
