#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "rpfs/names.h"

namespace rpfs::cli {

Result<std::shared_ptr<Repository>> Context::OpenRepo() const {
  if (served != nullptr) return std::shared_ptr<Repository>(std::shared_ptr<void>(), served);
  RPFS_ASSIGN_OR_RETURN(auto repo, Repository::Open(store_dir));
  return std::shared_ptr<Repository>(std::move(repo));
}

std::string Context::Path(const std::string& p) const {
  if (p.empty() || p[0] == '/' || cwd.empty()) return p;
  return (std::filesystem::path(cwd) / p).lexically_normal().string();
}

int Context::Fail(const Status& s) const {
  std::fprintf(err, "rpfs: %s\n", s.message().c_str());
  return s.IsInvalidArgument() ? kExitUsage : kExitFailed;
}

bool Context::CheckName(const std::string& name, const char* what, int* exit_code) const {
  Status s = ValidateName(name, what);
  if (s.ok()) return true;
  *exit_code = Fail(s);
  return false;
}

Result<std::string> Context::RunOp(Repository& repo, const std::string& vm, const std::string& what,
                                   const control::Operations::Task& task,
                                   const ProgressFn& progress) const {
  if (ops != nullptr) return ops->RunTask(vm, what, task, progress);
  control::Operations local(&repo);
  return local.RunTask(vm, what, task, progress);
}

void Context::PrintJson(const nlohmann::json& j) const {
  std::fputs((j.dump(2) + "\n").c_str(), out);
}

}  // namespace rpfs::cli
