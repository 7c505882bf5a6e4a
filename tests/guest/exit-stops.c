/*
 * exit-stops: a write to isa-debug-exit ends the machine before the next
 * instruction. The same straight-line block writes to the exit port and
 * then to the serial port; nothing after the exit write may reach the
 * serial output (a software CPU must not finish the rest of its block).
 */
#include "runtime.h"

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    (void)mb_magic;
    (void)mbi;
    puts_serial("exit-stops: writing 0 to isa-debug-exit\n");
    __asm__ volatile("mov $0x3f8, %%dx\n\t"
                     "xor %%eax, %%eax\n\t"
                     "outl %%eax, $0xf4\n\t"
                     "mov $'A', %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     "mov $'F', %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     "mov $'T', %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     "mov $'E', %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     "mov $'R', %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     "mov $10, %%al\n\t"
                     "outb %%al, %%dx\n\t"
                     ::: "eax", "edx", "memory");
    printf("exit-stops: still running after the exit write: FAILED\n");
    exit(3);
}
