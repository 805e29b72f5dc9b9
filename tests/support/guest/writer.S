# Test guest for the libvirt tests (issue #5, see docs/libvirt-notes.md). Not built yet by CMake.
# A 512-byte boot sector that keeps writing: sector LBA 1..64 in turn gets 512 bytes of a
# counter, via BIOS INT 13h AH=43h (extended write) on the boot drive.
.code16
.globl _start
_start:
  cli
  xorw %ax, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  movw $0x7c00, %sp
  sti
  movb %dl, drive
loop:
  incw counter
  # fill buffer at 0x8000 with the counter
  movw $0x8000, %di
  movw counter, %ax
  movw $256, %cx
  cld
  rep stosw
  # lba = 1 + (counter & 63)
  movw counter, %ax
  andw $63, %ax
  incw %ax
  movw %ax, dap_lba
  movw $dap, %si
  movb drive, %dl
  movw $0x4300, %ax
  int $0x13
  jmp loop
.align 4
dap:
  .byte 0x10, 0
  .word 1
  .word 0x8000, 0
dap_lba:
  .word 0, 0, 0, 0
drive: .byte 0
counter: .word 0
.org 510
.byte 0x55, 0xaa
