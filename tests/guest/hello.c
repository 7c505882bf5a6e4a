/*
 * hello: the smallest payload. Prints one line and exits with code 0
 * (process exit status 1). The start-up benchmark boots it too.
 */
#include "runtime.h"

int main(uint32_t mb_magic, const struct multiboot_info *mbi)
{
    puts_serial("Hello from the Kestrel test guest!\n");
    return 0;
}
