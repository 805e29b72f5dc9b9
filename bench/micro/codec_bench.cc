// Per-core costs of the ingest and read paths: zero test, SHA-256, XXH3, zstd encode and
// decode of one chunk. Run: build/bench/rpfs_micro_bench --benchmark_out=bench/results/micro.json
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "format/chunk_codec.h"
#include "util/hash.h"

namespace rpfs {
namespace {

// Text-like data, compressible about 3x, like binaries and logs on a system disk.
std::vector<std::byte> Sample(size_t n) {
  static const char* kWords[] = {"ELF ",      "libc.so.6 ", "\0\0\0\0", "GLIBC_2.34 ",     "main ",
                                 "/usr/lib/", "x86_64 ",    "\n",       "0123456789abcdef"};
  std::mt19937_64 rng(1);
  std::vector<std::byte> out;
  while (out.size() < n) {
    const char* w = kWords[rng() % 9];
    for (const char* p = w; *p != '\0' && out.size() < n; ++p) out.push_back(std::byte(*p));
    out.push_back(std::byte(rng() & 0xff));
  }
  out.resize(n);
  return out;
}

void BM_Sha256(benchmark::State& state) {
  auto data = Sample(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64 << 10);

void BM_Xxh3(benchmark::State& state) {
  auto data = Sample(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Xxh3(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Xxh3)->Arg(64 << 10);

void BM_IsAllZero(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(IsAllZero(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IsAllZero)->Arg(64 << 10);

void BM_Encode(benchmark::State& state) {
  auto data = Sample(static_cast<size_t>(state.range(0)));
  format::ChunkEncoder enc(static_cast<int>(state.range(1)));
  std::string body;
  for (auto _ : state) enc.Encode(data, &body);
  state.SetBytesProcessed(state.iterations() * state.range(0));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(body.size());
}
BENCHMARK(BM_Encode)->ArgsProduct({{16 << 10, 64 << 10, 256 << 10, 1 << 20}, {-1, 1, 3}});

void BM_Decode(benchmark::State& state) {
  auto data = Sample(static_cast<size_t>(state.range(0)));
  format::ChunkEncoder enc(3);
  std::string body;
  enc.Encode(data, &body);
  format::ChunkDecoder dec;
  std::vector<std::byte> out(data.size());
  for (auto _ : state) benchmark::DoNotOptimize(dec.Decode(body, out).ok());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Decode)->Arg(16 << 10)->Arg(64 << 10)->Arg(256 << 10)->Arg(1 << 20);

}  // namespace
}  // namespace rpfs

BENCHMARK_MAIN();
