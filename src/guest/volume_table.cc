#include "guest/volume_table.h"

namespace rpfs::guest {
namespace {

std::string Field(std::string s) {
  if (s.empty()) return "-";
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return s;
}

}  // namespace

std::string FormatVolumes(const std::vector<VolumeInfo>& volumes,
                          const std::vector<std::string>& states) {
  std::string out = "name\tdisk\ttable\tindex\tstart\tsize\ttype\tfs\tlabel\tuuid\tstate\n";
  for (size_t i = 0; i < volumes.size(); ++i) {
    const VolumeInfo& v = volumes[i];
    const std::string fields[] = {Field(v.name),
                                  Field(v.disk),
                                  Field(v.table),
                                  std::to_string(v.index),
                                  std::to_string(v.start),
                                  std::to_string(v.size),
                                  Field(v.type),
                                  Field(FsTypeName(v.fs.type)),
                                  Field(v.fs.label),
                                  Field(v.fs.uuid),
                                  Field(i < states.size() ? states[i] : v.state)};
    for (size_t f = 0; f < std::size(fields); ++f) {
      if (f > 0) out += '\t';
      out += fields[f];
    }
    out += '\n';
  }
  return out;
}

}  // namespace rpfs::guest
