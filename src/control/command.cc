#include "control/command.h"

#include <set>
#include <vector>

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
        return Bad("the value of " + word + "= must be in double quotes");
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

std::string VerbName(Verb v) {
  switch (v) {
    case Verb::kCreate:
      return "create";
    case Verb::kRollback:
      return "rollback";
    case Verb::kClone:
      return "clone";
    case Verb::kDelete:
      return "delete";
    case Verb::kRename:
      return "rename";
    case Verb::kDeleteClone:
      return "delete-clone";
    case Verb::kProtect:
      return "protect";
    case Verb::kUnprotect:
      return "unprotect";
  }
  return "?";
}

struct Grammar {
  Verb verb;
  std::vector<const char*> names;  // what each positional argument names
  std::set<std::string> flags;
  std::set<std::string> keys;
};

const std::vector<std::pair<std::string, Grammar>>& Grammars() {
  static const std::vector<std::pair<std::string, Grammar>> g = {
      {"create", {Verb::kCreate, {"rp name"}, {"memory", "quiesce"}, {"description"}}},
      {"rollback", {Verb::kRollback, {"rp name"}, {"keep-current"}, {}}},
      {"clone", {Verb::kClone, {"rp name", "clone name"}, {"define"}, {}}},
      {"delete", {Verb::kDelete, {"rp name"}, {}, {}}},
      {"rename", {Verb::kRename, {"rp name", "new rp name"}, {}, {}}},
      {"delete-clone", {Verb::kDeleteClone, {"clone name"}, {}, {}}},
      {"protect", {Verb::kProtect, {"rp name"}, {}, {}}},
      {"unprotect", {Verb::kUnprotect, {"rp name"}, {}, {}}},
  };
  return g;
}

std::string Quote(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
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
  const Grammar* g = nullptr;
  for (const auto& [name, grammar] : Grammars()) {
    if (name == verb) g = &grammar;
  }
  if (g == nullptr) {
    return Bad("unknown verb '" + verb.substr(0, 64) +
               "' (create, rollback, clone, delete, rename, delete-clone, protect, unprotect)");
  }
  Command cmd;
  cmd.verb = g->verb;
  std::vector<std::string> positional;
  std::set<std::string> seen;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (!t.key.empty()) {
      if (g->keys.count(t.key) == 0) return Bad(verb + " takes no " + t.key.substr(0, 64) + "=");
      if (!seen.insert(t.key + "=").second) return Bad(t.key + "= given twice");
      cmd.description = t.value;
    } else if (positional.size() < g->names.size()) {
      positional.push_back(t.value);
    } else if (g->flags.count(t.value) != 0) {
      if (!seen.insert(t.value).second) return Bad(t.value + " given twice");
      if (t.value == "memory") cmd.memory = true;
      if (t.value == "quiesce") cmd.quiesce = true;
      if (t.value == "keep-current") cmd.keep_current = true;
      if (t.value == "define") cmd.define = true;
    } else {
      return Bad("unexpected '" + t.value.substr(0, 64) + "' after " + verb);
    }
  }
  if (positional.size() < g->names.size()) {
    return Bad(verb + " needs a " + g->names[positional.size()]);
  }
  for (size_t i = 0; i < positional.size(); ++i) {
    RPFS_RETURN_IF_ERROR(ValidateName(positional[i], g->names[i]));
  }
  if (cmd.verb == Verb::kDeleteClone) {
    cmd.target = positional[0];
  } else {
    cmd.rp = positional[0];
    if (positional.size() > 1) cmd.target = positional[1];
  }
  return cmd;
}

std::string Command::ToString() const {
  std::string out = VerbName(verb);
  if (verb != Verb::kDeleteClone) out += " " + rp;
  if (!target.empty()) out += " " + target;
  if (memory) out += " memory";
  if (quiesce) out += " quiesce";
  if (keep_current) out += " keep-current";
  if (define) out += " define";
  if (!description.empty()) out += " description=" + Quote(description);
  return out;
}

}  // namespace rpfs::control
