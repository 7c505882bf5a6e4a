/* kestrel-system-x86_64 */
#include "sysemu/vl.h"

int main(int argc, char **argv)
{
    return kestrel_main(argc, argv);
}
