#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` in the build directory makes it; dpkg installs the
# binary, man pages, completion, units and /etc/default/rpfs where Debian expects them;
# systemd-analyze accepts the units without a warning; man finds the pages; the installed
# rpfs runs; `dpkg --purge` removes every file again.
#   package_test.sh BUILD_DIR
set -euo pipefail
build=$1
skip() { echo "SKIP: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root to install a package"
for tool in cpack dpkg dpkg-shlibdeps systemd-analyze man; do
  command -v "$tool" >/dev/null || skip "needs $tool (scripts/install-deps.sh installs it)"
done
if dpkg -s rpfs >/dev/null 2>&1 || [[ -e /usr/bin/rpfs ]]; then
  skip "an rpfs is already installed on this machine; not touching it"
fi

tmp=$(mktemp -d)
installed=0
cleanup() {
  if ((installed)); then dpkg --purge rpfs >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

(cd "$build" && cpack -G DEB -B "$tmp" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack"; }
debs=("$tmp"/rpfs_*_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "no rpfs_<version>_<arch>.deb in $tmp"
deb=${debs[0]}
echo "package: $(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libfuse3 librocksdb libzstd fuse3; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done
[[ $(dpkg-deb -f "$deb" Version) =~ ^[0-9] ]] || fail "version $(dpkg-deb -f "$deb" Version)"

dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i"; }
installed=1
dpkg -L rpfs >"$tmp/files"
for f in /usr/bin/rpfs /usr/share/man/man1/rpfs-create.1 /usr/share/man/man1/rpfs-vm-add.1 \
  /usr/share/man/man8/rpfs.8 /usr/share/man/man5/rpfs-control.5 \
  /usr/share/bash-completion/completions/rpfs /usr/lib/systemd/system/rpfs.service \
  /usr/lib/systemd/system/rpfs-auto.service /usr/lib/systemd/system/rpfs-auto.timer \
  /usr/lib/systemd/system/rpfs-verify.service /usr/lib/systemd/system/rpfs-verify.timer \
  /etc/default/rpfs; do
  grep -qx "$f" "$tmp/files" || fail "dpkg -L rpfs lacks $f"
  [[ -e $f ]] || fail "$f is listed but not there"
done
grep -qx /etc/default/rpfs <(dpkg-query -W -f='${Conffiles}\n' rpfs | awk '{print $1}') ||
  fail "/etc/default/rpfs is not a conffile"

/usr/bin/rpfs --version | grep -q '^rpfs ' || fail "rpfs --version: $(/usr/bin/rpfs --version)"
page=$(man -w rpfs-create) || fail "man -w rpfs-create"
[[ $page == /usr/share/man/man1/rpfs-create.1* ]] || fail "man -w rpfs-create: $page"
man -w 8 rpfs >/dev/null || fail "man -w 8 rpfs"
man -w 5 rpfs-control >/dev/null || fail "man -w 5 rpfs-control"
# Every page renders without a groff warning.
for p in /usr/share/man/man1/rpfs-*.1 /usr/share/man/man8/rpfs.8 /usr/share/man/man5/rpfs-control.5; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null || true)
  [[ -z $warnings ]] || fail "man $p: $warnings"
done

# systemd-analyze only warns (exit 0) on an unknown key: any output is a failure.
units=(/usr/lib/systemd/system/rpfs.service /usr/lib/systemd/system/rpfs-auto.service
  /usr/lib/systemd/system/rpfs-auto.timer /usr/lib/systemd/system/rpfs-verify.service
  /usr/lib/systemd/system/rpfs-verify.timer)
out=$(systemd-analyze verify "${units[@]}" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"

dpkg --purge rpfs >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg --purge"; }
installed=0
while read -r f; do
  [[ -d $f ]] && continue  # shared directories (/usr/bin) stay
  [[ -e $f ]] && fail "$f is still there after dpkg --purge"
done <"$tmp/files"
echo "package installed, checked and removed"
