# Test guest for the benchmarks: a 512-byte boot sector that halts its vCPU for good, so a
# measurement of the host side (bench/libvirt_bench.sh's first RP of a quiet guest) does not
# share the CPU with a guest at work. The writer guest (writer.S) is the busy case.
.code16
.globl _start
_start:
  cli
halt:
  hlt
  jmp halt
.org 510
.word 0xaa55
