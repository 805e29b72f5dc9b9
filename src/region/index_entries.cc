#include "region/index_entries.h"

namespace rpfs::region {

std::string SidHost(const std::string& host) {
  std::string out;
  for (char c : host) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_';
    out.push_back(keep ? c : '_');
  }
  return out.empty() ? "host" : out.substr(0, 64);
}

std::vector<Entry> Entries(const Omap& index) {
  std::vector<Entry> out;
  for (const auto& [key, value] : index) {
    std::string_view prefix;
    for (std::string_view p : {kSnapKey, kPushKey, kDelKey, kHoldKey}) {
      if (StartsWith(key, p)) prefix = p;
    }
    if (prefix.empty()) continue;
    Entry e;
    e.key = key;
    e.value = value;
    auto decoded = DecodeSummary(value);
    e.readable = decoded.ok();
    if (decoded.ok()) e.summary = std::move(*decoded);
    e.sid = prefix == kSnapKey ? e.summary.sid : key.substr(prefix.size());
    out.push_back(std::move(e));
  }
  return out;
}

bool Published(const Omap& index, const std::string& name, const std::string& sid) {
  auto it = index.find(kSnapKey + name);
  if (it == index.end()) return false;
  auto s = DecodeSummary(it->second);
  return s.ok() && s->sid == sid;
}

std::optional<Entry> FindPublished(const std::vector<Entry>& entries, const std::string& sid) {
  if (sid.empty()) return std::nullopt;
  for (const Entry& e : entries) {
    if (e.readable && e.sid == sid && StartsWith(e.key, kSnapKey)) return e;
  }
  return std::nullopt;
}

// The latest snapshot from the same host and VM holds most chunks of the VM's next RP.
// Any published snapshot would be correct; this one makes a next-day push cost its change.
std::optional<Entry> ChooseBase(const std::vector<Entry>& entries, const std::string& host,
                                const std::string& vm) {
  std::optional<Entry> best;
  for (const Entry& e : entries) {
    if (!e.readable || !StartsWith(e.key, kSnapKey)) continue;
    if (e.summary.host != host || e.summary.vm != vm) continue;
    if (!best || e.summary.pushed_us >= best->summary.pushed_us) best = e;
  }
  return best;
}

std::string KeptBy(const std::vector<Entry>& entries, const std::string& sid,
                   const std::string& own_key) {
  for (const Entry& e : entries) {
    if (e.key == own_key) continue;
    if (!e.readable) return "index entry " + e.key + " (it cannot be read)";
    if (e.summary.base != sid) continue;
    if (StartsWith(e.key, kHoldKey)) {
      return e.key + " (held by " + e.summary.rp + " of VM " + e.summary.vm + " on host " +
             e.summary.host + ")";
    }
    return e.key;
  }
  return "";
}

}  // namespace rpfs::region
