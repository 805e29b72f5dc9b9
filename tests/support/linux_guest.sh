# A tiny Linux test guest that runs the real QEMU guest agent, for tests of what rpfs does
# through the agent (drill --exec runs commands with guest-exec). Sourced (bash), like
# libvirt.sh; defines functions only.
#
# The guest is the host's Debian cloud kernel booted directly (no disk boot, no bootloader)
# with an initrd built here from the host's files: busybox-static, /usr/sbin/qemu-ga with
# its libraries, the virtio modules. Its /init starts qemu-ga on the agent channel, says
# "rpfs-linux-guest up" on the serial port, and powers off on the ACPI power button or on
# the agent's guest-shutdown. Packages: linux-image-cloud-amd64 qemu-guest-agent
# busybox-static cpio (scripts/install-deps.sh).

LG_AGENT_CHANNEL=org.qemu.guest_agent.0
# Loaded in dependency order (lg_module_order adds what they need). button+evdev give the
# power button an event device to wait on.
LG_MODULES=(virtio_pci virtio_blk virtio_console button evdev)

# build_linux_guest DIR: writes DIR/vmlinuz and DIR/initrd.img. Returns non-zero with a
# message on stderr naming what is missing, for a test to skip with.
build_linux_guest() {  # dir
  local dir=$1 kernel kver stage rc=0
  kernel=$(lg_kernel) || return 1
  kver=${kernel#/boot/vmlinuz-}
  lg_need_file /lib/modules/"$kver"/modules.dep /usr/sbin/qemu-ga /bin/busybox || return 1
  command -v cpio >/dev/null || { lg_err "cpio is not installed"; return 1; }
  mkdir -p "$dir" || return 1
  stage=$(mktemp -d "$dir/initrd-stage.XXXXXX") || return 1
  lg_stage_initrd "$stage" "$kver" && cp "$kernel" "$dir/vmlinuz" &&
    lg_pack_cpio "$stage" "$dir/initrd.img" || rc=1
  rm -rf "$stage"
  return $rc
}

lg_err() { echo "linux_guest: $*" >&2; }

lg_need_file() {  # paths...
  local f
  for f in "$@"; do
    [[ -r $f ]] || { lg_err "$f is missing (run scripts/install-deps.sh)"; return 1; }
  done
}

# The newest cloud kernel (it has virtio as small modules and boots fast), else any kernel.
lg_kernel() {
  local k
  k=$(ls -v /boot/vmlinuz-*-cloud-amd64 2>/dev/null | tail -1)
  [[ -n $k ]] || k=$(ls -v /boot/vmlinuz-* 2>/dev/null | tail -1)
  [[ -n $k && -r $k ]] || { lg_err "no readable /boot/vmlinuz-* (install linux-image-cloud-amd64)"; return 1; }
  echo "$k"
}

lg_stage_initrd() {  # stage kver
  local s=$1
  mkdir -p "$s"/{bin,sbin,dev,proc,sys,run,tmp,modules,usr/sbin} || return 1
  cp /bin/busybox "$s/bin/busybox" && cp /usr/sbin/qemu-ga "$s/usr/sbin/qemu-ga" || return 1
  lg_copy_libs "$s" /bin/busybox /usr/sbin/qemu-ga || return 1
  # Every applet, not only those /init uses: guest-exec commands in tests may use any.
  local applet
  for applet in $(/bin/busybox --list); do
    [[ -e $s/bin/$applet ]] || ln -s busybox "$s/bin/$applet"
  done
  lg_copy_modules "$s" "$2" || return 1
  lg_write_shutdown >"$s/sbin/shutdown" && lg_write_init >"$s/init" &&
    chmod 0755 "$s/init" "$s/sbin/shutdown"
}

# The shared libraries of the binaries (ldd's absolute paths, the loader included) at the
# same paths in the stage. Copied with -L: the initrd needs the files, not the symlinks.
lg_copy_libs() {  # stage binaries...
  local s=$1 out="" bin lib
  shift
  # One at a time: with several, ldd adds "path:" headers.
  for bin in "$@"; do out+=$(ldd "$bin" 2>/dev/null)$'\n'; done
  if grep -q 'not found' <<<"$out"; then
    lg_err "missing libraries: $(grep 'not found' <<<"$out" | tr -s ' \t' ' ')"
    return 1
  fi
  for lib in $(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i}' <<<"$out" | sort -u); do
    mkdir -p "$s${lib%/*}" && cp -L "$lib" "$s$lib" || return 1
  done
}

# LG_MODULES and what they depend on, as paths under /lib/modules/KVER in load order.
# modules.dep lists all of a module's dependencies, the ones to load first last.
lg_module_order() {  # kver
  awk -v want="${LG_MODULES[*]}" '
    function visit(p,   n, d, i) {
      if (p in done) return
      done[p] = 1
      n = split(deps[p], d, " ")
      for (i = n; i >= 1; i--) visit(d[i])
      print p
    }
    {
      p = $1; sub(/:$/, "", p)
      deps[p] = ""; for (i = 2; i <= NF; i++) deps[p] = deps[p] " " $i
      name = p; sub(/.*\//, "", name); sub(/\.ko.*$/, "", name); path[name] = p
    }
    END {
      n = split(want, w, " ")
      for (i = 1; i <= n; i++) {
        if (!(w[i] in path)) { print "module " w[i] " is not in modules.dep" > "/dev/stderr"; exit 1 }
        visit(path[w[i]])
      }
    }' "/lib/modules/$1/modules.dep"
}

# Numbered, so that /init loads them in glob order. busybox insmod wants plain .ko files.
lg_copy_modules() {  # stage kver
  local order m n=10
  order=$(lg_module_order "$2") || { lg_err "kernel $2 lacks a needed module"; return 1; }
  for m in $order; do
    case $m in
      *.ko) cp "/lib/modules/$2/$m" "$1/modules/$n-${m##*/}" || return 1 ;;
      *) lg_err "$m is compressed; busybox insmod cannot load it"; return 1 ;;
    esac
    n=$((n + 1))
  done
}

lg_pack_cpio() {  # stage output
  (cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$2"
  local st=("${PIPESTATUS[@]}")
  [[ ${st[0]} -eq 0 && ${st[1]} -eq 0 ]] || { lg_err "packing $2 failed"; return 1; }
}

# qemu-ga's guest-shutdown runs /sbin/shutdown -h -P|-r|-H +0 MESSAGE. There is no init
# to ask, so force it.
lg_write_shutdown() {
  cat <<'EOF'
#!/bin/sh
sync
case " $* " in
  *" -r "*) exec reboot -f ;;
  *" -H "*) exec halt -f ;;
  *) exec poweroff -f ;;
esac
EOF
}

lg_write_init() {
  cat <<EOF
#!/bin/sh
# PID 1 of the rpfs Linux test guest (tests/support/linux_guest.sh). It must never exit:
# the kernel would panic (and with panic=-1 reboot, which the domain turns into destroy).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
CHANNEL=$LG_AGENT_CHANNEL
EOF
  cat <<'EOF'
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/ttyS0 2>&1

for m in /modules/*.ko; do insmod "$m" || echo "rpfs-linux-guest: insmod $m failed"; done

# Polls with a deadline (the devices come up asynchronously after insmod); 10 s is ample
# even under TCG.
poll() {  # what cmd...
  what=$1; shift
  i=0
  until "$@"; do
    i=$((i + 1))
    if [ $i -gt 500 ]; then echo "rpfs-linux-guest: no $what"; return 1; fi
    sleep 0.02
  done
}

# No udev, so no /dev/virtio-ports/ links: find the vportNpM whose name is the channel's.
agent_port() {
  for f in /sys/class/virtio-ports/*/name; do
    [ "$(cat "$f" 2>/dev/null)" = "$CHANNEL" ] || continue
    d=${f%/name}
    PORT=/dev/${d##*/}
    [ -c "$PORT" ] && return 0
  done
  return 1
}

# Ready once qemu-ga holds the port open: what the host sends from then on gets read.
agent_open() {
  for fd in "/proc/$AGENT"/fd/*; do
    [ "$(readlink "$fd")" = "$PORT" ] && return 0
  done
  return 1
}

power_button() {
  for f in /sys/class/input/event*/device/name; do
    [ "$(cat "$f")" = "Power Button" ] || continue
    d=${f%/device/name}
    BUTTON=/dev/input/${d##*/}
    [ -c "$BUTTON" ] && return 0
  done
  return 1
}

# evdev reads whole events (24 bytes); any event from the button means "pressed".
if poll "power button" power_button; then
  (dd if="$BUTTON" of=/dev/null bs=24 count=1 2>/dev/null &&
    echo "rpfs-linux-guest: power button" && sync && poweroff -f) &
fi

if poll "port named $CHANNEL" agent_port; then
  mkdir -p /dev/virtio-ports && ln -sf "../${PORT#/dev/}" "/dev/virtio-ports/$CHANNEL"
  # -t/-f: the default state dir and pid file are in /var/run, which is not here.
  qemu-ga -m virtio-serial -p "$PORT" -t /run -f /run/qemu-ga.pid &
  AGENT=$!
  poll "qemu-ga on $PORT" agent_open && echo "rpfs-linux-guest up"
  wait $AGENT
  echo "rpfs-linux-guest: qemu-ga exited with status $?"
fi
# Stays PID 1 (and reaps orphans while waiting on sleep).
while :; do sleep 3600; done
EOF
}

# A domain type for libvirt: kvm when /dev/kvm opens and is hardware virtualization, else
# qemu (TCG). Not on any /dev/kvm: the one here is PVM (kvm_pvm: shadow paging in
# software), which runs the boot-sector guests but not Linux: its instruction emulator
# fails on the kernel's cmpxchg16b and xrstor ("KVM internal error ... emulation
# failure"), after a boot many times slower than TCG's. LINUX_GUEST_TYPE=kvm|qemu
# overrides the choice.
lg_domain_type() {
  if [[ -n ${LINUX_GUEST_TYPE:-} ]]; then
    echo "$LINUX_GUEST_TYPE"
  elif [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]] &&
    [[ -c /dev/kvm ]] && { : <>/dev/kvm; } 2>/dev/null; then
    echo kvm
  else
    echo qemu
  fi
}

# linux_domain_xml NAME DISK_QCOW2 DIR [SERIAL_LOG]: the domain for the guest in DIR (from
# build_linux_guest), its serial port in SERIAL_LOG (else a pty). DIR must be readable by
# libvirt-qemu. Power-off, reboot and crash all end the domain (panic=-1 turns a panic
# into a reboot). Needs libvirt.sh sourced first (lv_vda_xml).
linux_domain_xml() {  # name qcow2 dir [serial-log]
  local serial="<serial type='pty'><target port='0'/></serial>"
  if [[ -n ${4:-} ]]; then
    serial="<serial type='file'><source path='$4'/><target port='0'/></serial>"
  fi
  cat <<EOF
<domain type='$(lg_domain_type)'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$3/vmlinuz</kernel>
    <initrd>$3/initrd.img</initrd>
    <cmdline>console=ttyS0 panic=-1 quiet</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
$(lv_vda_xml "$2")
    $serial
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='$LG_AGENT_CHANNEL'/>
    </channel>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
