/* The program's entry point behind main(). */
#ifndef SYSEMU_VL_H
#define SYSEMU_VL_H

int kestrel_main(int argc, char **argv);

#endif
