#include "virt/guest_exec.h"

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
#include <openssl/evp.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "util/clock.h"

namespace rpfs::virt {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);
// Per agent round trip: the agent answers at once or not at all.
constexpr int kAgentCallTimeoutS = 10;

std::string LastLibvirtError() {
  virErrorPtr e = virGetLastError();
  return e != nullptr && e->message != nullptr ? e->message : "unknown libvirt error";
}

Result<nlohmann::json> AgentCall(virDomainPtr dom, const std::string& name,
                                 const nlohmann::json& request) {
  const std::string text = request.dump();
  char* reply = virDomainQemuAgentCommand(dom, text.c_str(), kAgentCallTimeoutS, 0);
  if (reply == nullptr) {
    return Status::IOError("guest agent of domain " + name + " (" +
                           request["execute"].get<std::string>() + "): " + LastLibvirtError());
  }
  std::string out = reply;
  free(reply);  // NOLINT: libvirt allocates with malloc
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("return")) {
    return Status::IOError("guest agent of domain " + name + ": unexpected reply " +
                           out.substr(0, 200));
  }
  return j["return"];
}

// qemu-ga sends captured output as base64.
std::string DecodeBase64(const std::string& in) {
  if (in.empty()) return "";
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "(output not valid base64)";
  // EVP_DecodeBlock counts the padding's bytes as output; drop them.
  size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '=' && pad < 2; ++it) ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string StringField(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// An integer field that fits an int, or nullopt (absent, another type, out of range: a
// guest's agent may send anything).
std::optional<int> IntField(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  const int64_t v = j[key].get<int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
  return static_cast<int>(v);
}

// The fields of a guest-exec-status "return" object. A command said to have ended must say
// how (an exit code or a signal): one that does not is an error, never a pass.
Result<GuestExecResult> ExecResultOf(const nlohmann::json& r) {
  GuestExecResult out;
  out.exited = r.contains("exited") && r["exited"].is_boolean() && r["exited"].get<bool>();
  const auto code = IntField(r, "exitcode");
  const auto signal = IntField(r, "signal");
  if (out.exited && !code && !signal) {
    return Status::IOError("guest-exec-status: the command ended without an exit code or signal");
  }
  out.exit_code = code.value_or(0);
  out.signal = signal.value_or(0);
  out.out = DecodeBase64(StringField(r, "out-data"));
  out.err = DecodeBase64(StringField(r, "err-data"));
  return out;
}

}  // namespace

Result<GuestExecResult> ParseExecStatus(const std::string& reply) {
  nlohmann::json j = nlohmann::json::parse(reply, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("return") || !j["return"].is_object()) {
    return Status::IOError("guest-exec-status: unexpected reply " + reply.substr(0, 200));
  }
  return ExecResultOf(j["return"]);
}

Result<GuestExecResult> RunInGuest(virDomainPtr dom, const std::string& name,
                                   const std::vector<std::string>& argv, uint32_t timeout_s) {
  if (argv.empty()) return Status::InvalidArgument("guest-exec: no command");
  nlohmann::json args = nlohmann::json::array();
  for (size_t i = 1; i < argv.size(); ++i) args.push_back(argv[i]);
  nlohmann::json start = {
      {"execute", "guest-exec"},
      {"arguments", {{"path", argv[0]}, {"arg", args}, {"capture-output", true}}}};
  RPFS_ASSIGN_OR_RETURN(nlohmann::json started, AgentCall(dom, name, start));
  if (!started.contains("pid") || !started["pid"].is_number_integer()) {
    return Status::IOError("guest agent of domain " + name + ": guest-exec returned no pid");
  }
  const nlohmann::json status = {{"execute", "guest-exec-status"},
                                 {"arguments", {{"pid", started["pid"].get<int64_t>()}}}};
  const int64_t deadline = MonotonicMicros() + static_cast<int64_t>(timeout_s) * 1000000;
  for (;;) {
    // The agent forgets a command once it has reported it ended: ask for it exactly once
    // per poll and keep that answer. A poll the agent does not answer (a busy guest under
    // emulation) is asked again until the deadline.
    auto now = AgentCall(dom, name, status);
    if (now.ok() && !now->is_object()) {
      return Status::IOError("guest agent of domain " + name +
                             ": guest-exec-status: " + now->dump().substr(0, 200));
    }
    const bool late = MonotonicMicros() >= deadline;
    if (!now.ok()) {
      if (late) return now.status().WithContext("the command started, then its status");
    } else {
      RPFS_ASSIGN_OR_RETURN(GuestExecResult r, ExecResultOf(*now));
      if (r.exited || late) return r;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace rpfs::virt
