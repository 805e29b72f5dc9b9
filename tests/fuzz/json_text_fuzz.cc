// libFuzzer target for the JSON text convention (cli/json_text.h): any bytes as a name or
// description dump without throwing, parse back, and give back exactly the same bytes.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/json_text.h"

namespace {

std::string BytesOf(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (!j.is_array()) std::abort();
  std::string out;
  for (const auto& b : j) {
    if (!b.is_number_unsigned() || b.get<unsigned>() > 255) std::abort();
    out.push_back(static_cast<char>(b.get<unsigned>()));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);  // NOLINT
  std::string half = text.substr(size / 2);
  nlohmann::json j = {{"name", rpfs::cli::JsonText(text)},
                      {"problems", rpfs::cli::JsonTexts({half, text})}};
  std::string dumped;
  try {
    dumped = j.dump(2);
  } catch (...) {
    std::abort();  // the writer refused what the helper let through as a string
  }
  auto back = nlohmann::json::parse(dumped, nullptr, /*allow_exceptions=*/false);
  if (back.is_discarded()) std::abort();
  if (BytesOf(back["name"]) != text || BytesOf(back["problems"][0]) != half ||
      BytesOf(back["problems"][1]) != text) {
    std::abort();
  }
  return 0;
}
