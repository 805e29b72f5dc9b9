// The random operations of the crash loop. Each one is a child process (`rpfs ...`, or
// this driver's own --write-clone mode) plus a rule that, given how the child ended and
// what a fresh process then sees, updates the model or says what is wrong.
#pragma once

#include <functional>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "torture/model.h"
#include "torture/spawn.h"

namespace rpfs::torture {

struct Paths {
  std::string rpfs;           // the binary under test
  std::string self;           // this driver (for its --write-clone mode)
  std::string store;          // the store directory
  bool region = false;        // a region "r" is configured in the store
  std::string checker_store;  // with a region: a second store that pulls snapshots back
};

// What a fresh process lists after the operation.
struct Observed {
  std::map<std::string, std::vector<std::string>> rps;  // vm -> RP names, creation order
  std::map<std::string, bool> clones;                   // "vm/clone" -> hydrated
  std::vector<std::string> snapshots;                   // the region's, when it has one
};

// The region every region operation uses (Setup adds it when --ceph-conf is given).
inline constexpr char kRegion[] = "r";

struct Op {
  std::string kind;  // "create", "delete", ...
  std::vector<std::string> argv;
  // Crash points this operation passes, with how many times at most.
  std::vector<std::pair<std::string, int>> crash_points;
  // Called with the child's result (exited or SIGKILLed); returns "" or the violation.
  std::function<std::string(const ChildResult&, const Observed&, Model*)> resolve;
};

// Picks an operation that is valid for `model` and prepares it (a create first changes
// the VM's image). `serial` makes names unique.
Op PickOp(std::mt19937_64* rng, Model* model, const Paths& paths, int serial);

// argv of `rpfs --store <store> args...`.
std::vector<std::string> RpfsArgv(const Paths& paths, const std::vector<std::string>& args);

// The whole content of a file.
std::vector<std::byte> ReadFile(const std::string& path);

}  // namespace rpfs::torture
