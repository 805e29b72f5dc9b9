#include "guest/lvm_metadata.h"

#include <cctype>
#include <charconv>

namespace rpfs::guest {

const LvmValue* LvmSection::Find(std::string_view key) const {
  for (const auto& [k, v] : values)
    if (k == key) return &v;
  return nullptr;
}

const LvmSection* LvmSection::Child(std::string_view child) const {
  for (const auto& s : sections)
    if (s.name == child) return &s;
  return nullptr;
}

std::optional<int64_t> LvmSection::Number(std::string_view key) const {
  const LvmValue* v = Find(key);
  if (!v || v->kind != LvmValue::Kind::kNumber) return std::nullopt;
  return v->number;
}

std::optional<std::string> LvmSection::String(std::string_view key) const {
  const LvmValue* v = Find(key);
  if (!v || v->kind != LvmValue::Kind::kString) return std::nullopt;
  return v->text;
}

namespace {

constexpr int kMaxDepth = 16;

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ||
         c == '+';
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status ParseBody(LvmSection* section, int depth, bool top) {
    if (depth > kMaxDepth) return Fail("sections nested too deep");
    for (;;) {
      SkipSpace();
      if (pos_ == text_.size()) return top ? Status() : Fail("missing '}'");
      if (text_[pos_] == '}') {
        if (top) return Fail("unexpected '}'");
        ++pos_;
        return Status();
      }
      std::string name = Name();
      if (name.empty()) return Fail("expected a name");
      SkipSpace();
      if (Eat('{')) {
        section->sections.push_back(LvmSection{name, {}, {}});
        RPFS_RETURN_IF_ERROR(ParseBody(&section->sections.back(), depth + 1, false));
      } else if (Eat('=')) {
        LvmValue value;
        RPFS_RETURN_IF_ERROR(ParseValue(&value, depth + 1));
        section->values.emplace_back(std::move(name), std::move(value));
      } else {
        return Fail("expected '=' or '{' after '" + name + "'");
      }
    }
  }

 private:
  Status ParseValue(LvmValue* value, int depth) {
    if (depth > kMaxDepth) return Fail("lists nested too deep");
    SkipSpace();
    if (pos_ == text_.size()) return Fail("missing value");
    char c = text_[pos_];
    if (c == '"') return ParseString(&value->text);
    if (c == '[') {
      ++pos_;
      value->kind = LvmValue::Kind::kList;
      SkipSpace();
      if (Eat(']')) return Status();
      for (;;) {
        value->list.emplace_back();
        RPFS_RETURN_IF_ERROR(ParseValue(&value->list.back(), depth + 1));
        SkipSpace();
        if (Eat(']')) return Status();
        if (!Eat(',')) return Fail("expected ',' or ']' in a list");
      }
    }
    std::string word = Name();
    if (word.empty()) return Fail("expected a value");
    value->text = word;
    int64_t n = 0;
    auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), n);
    if (ec == std::errc() && end == word.data() + word.size()) {
      value->kind = LvmValue::Kind::kNumber;
      value->number = n;
    }  // else a bare word or a float: kept as a string
    return Status();
  }

  Status ParseString(std::string* out) {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return Status();
      if (c == '\\' && pos_ < text_.size()) c = text_[pos_++];
      *out += c;
    }
    return Fail("unterminated string");
  }

  std::string Name() {
    size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    return std::string(text_.substr(start, pos_ - start));
  }

  bool Eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c)) || c == '\0') {
        ++pos_;
      } else {
        return;
      }
    }
  }

  Status Fail(const std::string& what) const {
    size_t line = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) line += text_[i] == '\n';
    return Status::Corruption("LVM metadata line " + std::to_string(line) + ": " + what);
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<LvmSection> ParseLvmMetadata(std::string_view text) {
  if (text.size() > kMaxLvmMetadata)
    return Status::Corruption("LVM metadata of " + std::to_string(text.size()) +
                              " bytes is too large");
  LvmSection root;
  Parser parser(text);
  RPFS_RETURN_IF_ERROR(parser.ParseBody(&root, 0, true));
  return root;
}

}  // namespace rpfs::guest
