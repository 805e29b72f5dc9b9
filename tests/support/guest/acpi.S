# Test guest for the restore tests (docs/restore.md): a 512-byte boot sector that
#   1. adds one to the boot count, the first 16-bit word of sector LBA 1 (BIOS INT 13h
#      extended read and write on the boot drive), so a test can tell each boot;
#   2. says "rpfs-test-guest up" on the first serial port (what `drill --expect` waits for);
#   3. waits for the ACPI power button and then powers the machine off (S5), as a guest OS
#      does when libvirt asks it to shut down.
# It finds the ACPI PM registers where the BIOS put them: the PMBASE register (0x40) of
# the PIIX4 power-management function (bus 0, device 1, function 3) of the "pc" machine.
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

  # 1. boot count
  movw $0x4200, %ax
  movw $dap, %si
  movb drive, %dl
  int $0x13
  incw 0x8000
  movw $0x4300, %ax
  movw $dap, %si
  movb drive, %dl
  int $0x13

  # 2. the serial line
  movw $message, %si
  movw $0x3f8, %dx
print:
  lodsb
  testb %al, %al
  jz printed
  outb %al, %dx
  jmp print
printed:

  # 3. PMBASE, then PM1_EN (PMBASE + 2) bit 8: the power button event
  movl $0x80000b40, %eax
  movw $0xcf8, %dx
  outl %eax, %dx
  movw $0xcfc, %dx
  inl %dx, %eax
  andw $0xffc0, %ax
  movw %ax, pmbase
  movw pmbase, %dx
  addw $2, %dx
  movw $0x0100, %ax
  outw %ax, %dx
wait:
  hlt                      # woken by the BIOS timer tick, 18 times a second
  movw pmbase, %dx         # PM1_STS: bit 8 is the power button
  inw %dx, %ax
  testw $0x0100, %ax
  jz wait
  movw pmbase, %dx         # PM1_CNT (PMBASE + 4): SLP_EN with SLP_TYP 0, S5 on qemu
  addw $4, %dx
  movw $0x2000, %ax
  outw %ax, %dx
  jmp wait

.align 4
dap:
  .byte 0x10, 0
  .word 1
  .word 0x8000, 0
  .word 1, 0, 0, 0
drive: .byte 0
pmbase: .word 0
message: .asciz "rpfs-test-guest up\r\n"
.org 510
.byte 0x55, 0xaa
