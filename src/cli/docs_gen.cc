#include "cli/docs_gen.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/version.h"

namespace rpfs::cli {
namespace {

// One verb as a user types it ("create", "vm add") and its CLI11 definition.
struct Verb {
  std::string path;
  const CLI::App* app;
  std::string Page() const {  // "rpfs-vm-add"
    std::string page = "rpfs-" + path;
    for (char& c : page) c = c == ' ' ? '-' : c;
    return page;
  }
};

// Every verb a user can run, in the order of `rpfs --help` (hidden ones, such as
// __complete, have no group and are left out).
std::vector<Verb> Verbs(const CLI::App& app) {
  std::vector<Verb> out;
  auto all = [](const CLI::App*) { return true; };
  for (const CLI::App* sub : app.get_subcommands(all)) {
    if (sub->get_group().empty()) continue;
    auto children = sub->get_subcommands(all);
    if (children.empty()) out.push_back({sub->get_name(), sub});
    for (const CLI::App* child : children) {
      out.push_back({sub->get_name() + " " + child->get_name(), child});
    }
  }
  return out;
}

struct Arg {
  std::string name;  // "vm" for a positional, "--json" (or "--json, -j") for an option
  std::string help;
  std::string type;  // "TEXT", "INT"; empty for a flag
  bool positional = false;
  bool repeats = false;
  bool required = false;
};

std::vector<Arg> ArgsOf(const CLI::App* verb) {
  std::vector<Arg> out;
  for (const CLI::Option* opt : verb->get_options()) {
    if (opt == verb->get_help_ptr() || opt == verb->get_help_all_ptr()) continue;
    Arg a;
    a.positional = !opt->nonpositional();
    a.name = a.positional ? opt->get_name(true, false) : opt->get_name(false, true);
    a.help = opt->get_description();
    a.type = opt->get_type_size() == 0 ? "" : opt->get_type_name();
    a.repeats = opt->get_expected_max() >= CLI::detail::expected_max_vector_size;
    a.required = opt->get_required();
    out.push_back(std::move(a));
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Text as roff: backslashes and hyphens escaped, no line starting with a control dot.
std::string Roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char c : text) {
    if (line_start && (c == '.' || c == '\'')) out += "\\&";
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
    line_start = c == '\n';
  }
  return out;
}

std::string Header(const std::string& name, int section) {
  return ".TH " + Upper(Roff(name)) + " " + std::to_string(section) + " \"\" \"rpfs " +
         RpfsVersion() + "\" \"rpfs manual\"\n";
}

// The exit codes (docs/cli.md has the full table with examples).
const char* const kExitStatus =
    ".SH EXIT STATUS\n"
    ".TP\n0\ndone\n"
    ".TP\n1\nfailed for another reason (I/O error, full disk)\n"
    ".TP\n2\nusage: unknown verb or option, a bad name, a missing argument\n"
    ".TP\n3\nnot found: no such VM, RP, clone, disk or file\n"
    ".TP\n4\nexists: the new name is taken\n"
    ".TP\n5\nbusy: the VM or store is in use now; the same command may work later\n"
    ".TP\n6\nrefused by rule: a protected RP, an unconfirmed rollback, another user's store\n"
    ".TP\n7\ndamaged: stored data failed its checksum\n"
    ".TP\n8\na check ran and the RP failed it: a drill whose guest did not come up\n"
    ".TP\n70\ninternal error: a bug, please report it\n";

std::string VerbPage(const Verb& v) {
  std::ostringstream o;
  std::vector<Arg> args = ArgsOf(v.app);
  o << Header(v.Page(), 1) << ".SH NAME\n"
    << Roff(v.Page()) << " \\- " << Roff(v.app->get_description())
    << "\n.SH SYNOPSIS\n.B rpfs\n[\\fB\\-\\-store\\fR \\fIDIR\\fR]\n.B " << Roff(v.path) << "\n";
  bool has_options = false;
  for (const Arg& a : args) {
    if (!a.positional) {
      has_options = true;
      continue;
    }
    std::string word = "\\fI" + Roff(Upper(a.name)) + "\\fR" + (a.repeats ? "..." : "");
    o << (a.required ? word : "[" + word + "]") << "\n";
  }
  if (has_options) o << "[\\fIOPTIONS\\fR]\n";
  o << ".SH DESCRIPTION\n" << Roff(v.app->get_description()) << ".\n";
  if (has_options || !args.empty()) o << ".SH ARGUMENTS AND OPTIONS\n";
  for (const Arg& a : args) {
    o << ".TP\n";
    if (a.positional) {
      o << "\\fI" << Roff(Upper(a.name)) << "\\fR" << (a.repeats ? "..." : "") << "\n";
    } else {
      o << "\\fB" << Roff(a.name) << "\\fR"
        << (a.type.empty() ? "" : " \\fI" + Roff(a.type) + "\\fR") << "\n";
    }
    o << Roff(a.help) << "\n";
  }
  o << ".TP\n\\fB\\-\\-store\\fR \\fIDIR\\fR\nThe store (default $RPFS_STORE, else /var/lib/rpfs); "
       "before or after the verb.\n";
  o << kExitStatus << ".SH SEE ALSO\n.BR rpfs (8),\n.BR rpfs\\-control (5)\n";
  return o.str();
}

std::string MainPage(const std::vector<Verb>& verbs) {
  std::ostringstream o;
  o << Header("rpfs", 8) << ".SH NAME\nrpfs \\- recovery points of virtual machines, kept "
    << "deduplicated and compressed, shown as a read\\-only file system\n"
    << ".SH SYNOPSIS\n.B rpfs\n[\\fB\\-\\-store\\fR \\fIDIR\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] "
       "[\\fB\\-\\-json\\fR]\n.br\n.B rpfs\n\\fISTORE\\fR \\fIMOUNTPOINT\\fR [\\fB\\-o\\fR "
       "\\fIOPTIONS\\fR]\n.br\n.B mount \\-t fuse.rpfs\n\\fISTORE\\fR \\fIMOUNTPOINT\\fR "
       "[\\fB\\-o\\fR \\fIOPTIONS\\fR]\n"
    << ".SH DESCRIPTION\nrpfs keeps recovery points (RPs) of virtual machines: every disk of a "
       "VM at one instant, optionally its memory and its libvirt definition, cut into chunks, "
       "deduplicated by SHA\\-256 and compressed in a store. Its mount shows every VM's RPs as "
       "read\\-only directories; writing a command into a VM's \\fI.control\\fR file rolls the "
       "VM back or clones an RP into disks usable at once.\n"
    << ".SH COMMANDS\nEach command has its own page, e.g. \\fBrpfs\\-create\\fR(1); "
       "\\fBrpfs help\\fR \\fICOMMAND\\fR prints the same.\n";
  for (const Verb& v : verbs) {
    o << ".TP\n\\fB" << Roff(v.path) << "\\fR\n"
      << Roff(v.app->get_description()) << " (" << Roff(v.Page()) << "(1)).\n";
  }
  o << ".SH THE MOUNT\n"
       "\\fBrpfs mount\\fR \\fIDIR\\fR, or mount(8) with type \\fBfuse.rpfs\\fR, or the fstab "
       "line\n.PP\n.nf\n/var/lib/rpfs  /mnt/rp  fuse.rpfs  allow_other,nofail  0  0\n.fi\n.PP\n"
       "shows:\n.PP\n.nf\n"
       "<vm>/<rp>/<disk>.raw        read\\-only raw image of a disk as it was\n"
       "<vm>/<rp>/info              what the RP holds\n"
       "<vm>/<rp>/files/            the guest's own files, by volume\n"
       "<vm>/.control               write a command here: see rpfs\\-control(5)\n"
       "<vm>/.status                the VM's recent operations\n"
       "<vm>/.prune\\-preview         what the stored policy would remove now\n"
       "<vm>/.clones/<clone>/       writable clone disks, filled on first read\n"
       ".fi\n.PP\n"
       "While a mount serves a store, every command but init and mount runs inside its daemon. "
       "\\fBumount\\fR ends the daemon. Without \\fBallow_other\\fR only the user who mounted "
       "sees the tree.\n"
    << ".SH FILES\n.TP\n/var/lib/rpfs\nthe default store\n.TP\n/etc/default/rpfs\n"
       "settings of the systemd units rpfs.service, rpfs\\-auto.timer and rpfs\\-verify.timer\n"
    << ".SH ENVIRONMENT\n.TP\nRPFS_STORE\nthe store when \\fB\\-\\-store\\fR is not given\n"
    << kExitStatus << ".SH SEE ALSO\n.BR rpfs\\-control (5)";
  for (const Verb& v : verbs) o << ",\n.BR " << Roff(v.Page()) << " (1)";
  o << "\n";
  return o.str();
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status::IOError("writing " + path.string());
  return Status::OK();
}

int WriteManPages(const CLI::App& app, const std::string& dir, const Context& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return ctx.Fail(Status::IOError("creating " + dir + ": " + ec.message()));
  std::vector<Verb> verbs = Verbs(app);
  Status s = WriteFile(std::filesystem::path(dir) / "rpfs.8", MainPage(verbs));
  for (const Verb& v : verbs) {
    if (s.ok()) s = WriteFile(std::filesystem::path(dir) / (v.Page() + ".1"), VerbPage(v));
  }
  return s.ok() ? kExitOk : ctx.Fail(s);
}

// What a positional names, by its name: completion offers VM, RP or clone names for it.
std::string KindOf(const std::string& positional) {
  if (positional == "vm") return "vm";
  if (positional == "rp" || positional == "from" || positional == "to") return "rp";
  if (positional == "clone") return "clone";
  if (positional == "mountpoint" || positional == "dest") return "file";
  return "none";
}

std::string Words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The part of the completion that does not depend on the verbs (they come as
// _rpfs_spec, _rpfs_top and _rpfs_group_verbs, generated before it).
constexpr char kCompletionFunctions[] = R"BASH(
# Names from the store, one per line, those starting with $1, quoted for the command line
# (a name may hold spaces, quotes or `$(...)`: never expanded).
_rpfs_names() {
  local cur=$1 n
  shift
  while IFS= read -r n; do
    if [[ $n == "$cur"* ]]; then COMPREPLY+=("$(printf '%q' "$n")"); fi
  done < <(rpfs "$@" 2>/dev/null)
}

_rpfs() {
  # bash splits words at ':' and '=' too (COMP_WORDBREAKS), and the names `rpfs auto`
  # gives its RPs hold colons (auto-2026-12-06T02:30:04Z): join such pieces again, up to
  # the word being completed.
  local -a words=()
  local j
  for ((j = 0; j <= COMP_CWORD; j++)); do
    if [[ ${COMP_WORDS[j]} =~ ^[:=]+$ && ${#words[@]} -gt 0 ]]; then
      words[-1]+=${COMP_WORDS[j]}
      if ((j < COMP_CWORD)); then
        j=$((j + 1))
        words[-1]+=${COMP_WORDS[j]}
      fi
    else
      words+=("${COMP_WORDS[j]}")
    fi
  done
  local cur=${words[-1]} prev=""
  if ((${#words[@]} > 1)); then prev=${words[-2]}; fi
  local verb='' w i opts valued kinds
  local -a store=() args=()
  COMPREPLY=()
  for ((i = 1; i < ${#words[@]} - 1; i++)); do
    w=${words[i]}
    if [[ $w == --store ]]; then store=(--store "${words[i+1]}"); ((i++)); continue; fi
    if [[ $w == --store=* ]]; then store=(--store "${w#--store=}"); continue; fi
    if [[ $w == -* ]]; then
      _rpfs_spec "$verb"
      if [[ " $valued " == *" $w "* ]]; then ((i++)); fi
      continue
    fi
    if [[ -z $verb ]]; then
      verb=$w
    elif [[ -n ${_rpfs_group_verbs[$verb]+x} ]]; then
      verb="$verb $w"
    else
      args+=("$w")
    fi
  done
  if [[ $prev == --store ]]; then
    COMPREPLY=($(compgen -d -- "$cur"))
    return 0
  fi
  if [[ -z $verb ]]; then
    COMPREPLY=($(compgen -W "$_rpfs_top help --store --json --version --help" -- "$cur"))
    return 0
  fi
  if [[ -n ${_rpfs_group_verbs[$verb]+x} ]]; then
    COMPREPLY=($(compgen -W "${_rpfs_group_verbs[$verb]}" -- "$cur"))
    return 0
  fi
  if [[ $verb == help ]]; then
    COMPREPLY=($(compgen -W "$_rpfs_top" -- "$cur"))
    return 0
  fi
  _rpfs_spec "$verb"
  if [[ " $valued " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  local -a k=($kinds)
  local n=${#args[@]} kind=none
  if ((n < ${#k[@]})); then kind=${k[n]}; elif ((${#k[@]})); then kind=${k[-1]}; fi
  if ((n >= ${#k[@]})) && [[ $kind != *... ]]; then return 0; fi
  case ${kind%...} in
    vm) _rpfs_names "$cur" "${store[@]}" __complete vms ;;
    rp) _rpfs_names "$cur" "${store[@]}" __complete rps "${args[0]}" ;;
    clone) _rpfs_names "$cur" "${store[@]}" __complete clones "${args[0]}" ;;
    file) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
  # bash replaces only what follows the word's last ':' or '=' (COMP_WORDBREAKS): give it
  # the rest of each candidate.
  local pre=${cur%"${cur##*[:=]}"}
  if [[ -n $pre ]]; then COMPREPLY=("${COMPREPLY[@]#"$pre"}"); fi
  return 0
}
complete -F _rpfs rpfs
)BASH";

std::string BashCompletion(const CLI::App& app) {
  std::vector<Verb> verbs = Verbs(app);
  std::vector<std::string> top, groups;
  std::map<std::string, std::vector<std::string>> group_verbs;
  for (const Verb& v : verbs) {
    size_t space = v.path.find(' ');
    std::string first = v.path.substr(0, space);
    if (top.empty() || top.back() != first) top.push_back(first);
    if (space != std::string::npos) {
      if (groups.empty() || groups.back() != first) groups.push_back(first);
      group_verbs[first].push_back(v.path.substr(space + 1));
    }
  }
  std::ostringstream o;
  o << "# bash completion for rpfs " << RpfsVersion()
    << ", generated by `rpfs __docs bash` from its command line definition.\n"
       "# VM, RP and clone names come from the store (`rpfs __complete`).\n\n"
       "_rpfs_spec() {  # <verb>: options, options taking a value, positionals by kind\n"
       "  case \"$1\" in\n";
  for (const Verb& v : verbs) {
    std::vector<std::string> options{"--help", "--json", "--store"}, valued{"--store"}, kinds;
    for (const Arg& a : ArgsOf(v.app)) {
      if (a.positional) {
        kinds.push_back(KindOf(a.name) + (a.repeats ? "..." : ""));
        continue;
      }
      // Every spelling ("-f,--foreground"), each once (--json may be the verb's own too).
      for (size_t start = 0; start < a.name.size();) {
        size_t end = std::min(a.name.find(',', start), a.name.size());
        std::string name = a.name.substr(start, end - start);
        start = end + 1;
        if (std::find(options.begin(), options.end(), name) != options.end()) continue;
        options.push_back(name);
        if (!a.type.empty()) valued.push_back(name);
      }
    }
    o << "    \"" << v.path << "\") opts='" << Words(options) << "' valued='" << Words(valued)
      << "' kinds='" << Words(kinds) << "' ;;\n";
  }
  o << "    *) opts='' valued='' kinds='' ;;\n  esac\n}\n\n";
  o << "_rpfs_top='" << Words(top) << "'\n";
  o << "declare -gA _rpfs_group_verbs=(";
  for (const std::string& g : groups) o << "[" << g << "]='" << Words(group_verbs[g]) << "' ";
  o << ")\n" << kCompletionFunctions;
  return o.str();
}

}  // namespace

int GenerateDocs(CLI::App& app, const std::vector<std::string>& args, const Context& ctx) {
  if (args.size() == 2 && args[0] == "man") return WriteManPages(app, args[1], ctx);
  if (args.size() == 1 && args[0] == "bash") {
    std::fputs(BashCompletion(app).c_str(), ctx.out);
    return kExitOk;
  }
  if (args.size() == 2 && args[0] == "bash") {
    Status s = WriteFile(args[1], BashCompletion(app));
    return s.ok() ? kExitOk : ctx.Fail(s);
  }
  return ctx.Fail(Status::InvalidArgument("usage: rpfs __docs man DIR | rpfs __docs bash [FILE]"));
}

}  // namespace rpfs::cli
