#include "control/command.h"

#include <algorithm>
#include <set>
#include <vector>

#include "control/verbs.h"
#include "rpfs/names.h"

namespace rpfs::control {
namespace {

struct Token {
  std::string key;    // empty for a bare word
  std::string value;  // the word, or the value of key="value"
};

Status Bad(const std::string& why) {
  return Status::InvalidArgument("invalid control command: " + why);
}

// Splits `text` into bare words and key="value" tokens.
Result<std::vector<Token>> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    Token t;
    size_t start = i;
    while (i < text.size() && !is_space(text[i]) && text[i] != '"' && text[i] != '=') ++i;
    std::string word(text.substr(start, i - start));
    if (i < text.size() && text[i] == '=') {
      if (word.empty()) return Bad("'=' without a key");
      ++i;
      if (i >= text.size() || text[i] != '"') {
        // A bare value (timeout=30) runs to the next blank and holds no quote or '='.
        size_t value_start = i;
        while (i < text.size() && !is_space(text[i])) ++i;
        t.value = std::string(text.substr(value_start, i - value_start));
        if (t.value.empty()) return Bad("the value of " + word + "= is missing");
        if (t.value.find_first_of("\"=") != std::string::npos) {
          return Bad("a value with quotes or '=' is written " + word + "=\"...\"");
        }
        t.key = std::move(word);
        out.push_back(std::move(t));
        continue;
      }
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char c = text[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (i >= text.size() || (text[i] != '"' && text[i] != '\\')) {
            return Bad("only \\\" and \\\\ may be escaped in the value of " + word);
          }
          c = text[i++];
        }
        t.value.push_back(c);
      }
      if (!closed) return Bad("unterminated quote in the value of " + word);
      if (i < text.size() && !is_space(text[i])) {
        return Bad("a space must follow the closing quote of " + word);
      }
      t.key = std::move(word);
    } else if (i < text.size() && text[i] == '"') {
      return Bad("quotes are only allowed as key=\"value\"");
    } else {
      t.value = std::move(word);
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::string Quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The control-file verbs, as the "unknown verb" message lists them.
std::string ControlFileVerbs() {
  std::string out;
  for (const auto& d : Verbs()) {
    if (d.control_file) out += (out.empty() ? "" : ", ") + std::string(d.name);
  }
  return out;
}

}  // namespace

Result<Command> ParseCommand(std::string_view text) {
  if (text.size() > kMaxCommandBytes) {
    return Bad("longer than " + std::to_string(kMaxCommandBytes) + " bytes");
  }
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  for (char c : text) {
    if (c == '\0') return Bad("contains a NUL byte");
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return Bad("contains a control character (one command per write)");
    }
  }
  RPFS_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text));
  if (tokens.empty()) return Bad("empty (expected e.g. \"rollback <rp>\")");
  if (!tokens[0].key.empty()) return Bad("it must start with a verb");
  const std::string& verb = tokens[0].value;
  const VerbDef* g = FindVerb(verb);
  if (g == nullptr || !g->control_file) {
    return Bad("unknown verb '" + verb.substr(0, 64) + "' (" + ControlFileVerbs() + ")");
  }
  Command cmd;
  cmd.verb = g->verb;
  size_t positional = 0;
  std::set<std::string> seen;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (!t.key.empty()) {
      auto key = std::find_if(g->keys.begin(), g->keys.end(),
                              [&](const auto& k) { return t.key == k.first; });
      if (key == g->keys.end()) return Bad(verb + " takes no " + t.key.substr(0, 64) + "=");
      if (!seen.insert(t.key + "=").second) return Bad(t.key + "= given twice");
      cmd.*(key->second) = t.value;
    } else if (positional < g->args.size()) {
      cmd.*(g->args[positional++].second) = t.value;
    } else {
      auto flag = std::find_if(g->flags.begin(), g->flags.end(),
                               [&](const auto& f) { return t.value == f.first; });
      if (flag == g->flags.end())
        return Bad("unexpected '" + t.value.substr(0, 64) + "' after " + verb);
      if (!seen.insert(t.value).second) return Bad(t.value + " given twice");
      cmd.*(flag->second) = true;
    }
  }
  if (positional < g->args.size()) return Bad(verb + " needs a " + g->args[positional].first);
  for (const auto& [what, field] : g->args) RPFS_RETURN_IF_ERROR(ValidateName(cmd.*field, what));
  return cmd;
}

std::string Command::ToString() const {
  const VerbDef* d = DefOf(verb);
  if (d == nullptr) return "?";
  if (d->text != nullptr) return d->text(*this);
  std::string out = d->name;
  for (const auto& arg : d->args) out += " " + this->*(arg.second);
  for (const auto& [flag, field] : d->flags) {
    if (this->*field) out += " " + std::string(flag);
  }
  for (const auto& [key, field] : d->keys) {
    if (!(this->*field).empty()) out += " " + std::string(key) + "=" + Quote(this->*field);
  }
  return out;
}

std::vector<std::string> Command::RpsToDelete() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  if (!rp.empty() && seen.insert(rp).second) out.push_back(rp);
  for (const auto& r : more_rps) {
    if (seen.insert(r).second) out.push_back(r);
  }
  return out;
}

}  // namespace rpfs::control
