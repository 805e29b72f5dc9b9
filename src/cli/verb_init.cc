// rpfs init [--chunk-size N] [--compression-level L]
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common.h"
#include "cli/json_text.h"

namespace rpfs::cli {
namespace {

class InitVerb final : public CliVerb {
 public:
  void Declare(CLI::App* cmd, Context&) override {
    cmd->add_option("--chunk-size", chunk_size_,
                    "Chunk size in bytes (power of two, 4 KiB..16 MiB; default 64 KiB)");
    level_opt_ = cmd->add_option("--compression-level", level_, "zstd level (-7..19, default 3)");
  }

  int Run(const Context& ctx) override {
    InitOptions opts;
    opts.chunk_size = chunk_size_;
    if (level_opt_->count() > 0) opts.compression_level = level_;
    auto repo = Repository::Init(ctx.store_dir, opts);
    if (!repo.ok()) return ctx.Fail(repo.status());
    auto s = (*repo)->Summary();
    const uint32_t chunk = s.ok() ? s->chunk_size : 0;
    const int level = s.ok() ? s->compression_level : 0;
    ctx.Report({{"store", JsonText(ctx.store_dir)}, {"chunk_size", chunk}, {"zstd_level", level}},
               "initialised store " + ctx.store_dir + " (chunk size " + std::to_string(chunk) +
                   ", zstd level " + std::to_string(level) + ")\n");
    return kExitOk;
  }

 private:
  uint32_t chunk_size_ = 0;
  int level_ = 0;
  CLI::Option* level_opt_ = nullptr;
};

}  // namespace

std::unique_ptr<CliVerb> NewInitVerb() { return std::make_unique<InitVerb>(); }

}  // namespace rpfs::cli
