/*
 * Port 0x80, the POST-code / I/O-delay port: writes are ignored (Linux
 * uses them as a short delay), reads return 0xff. Claiming the port keeps
 * those writes out of the unassigned-access log.
 */
#ifndef HW_MISC_PORT80_H
#define HW_MISC_PORT80_H

#include "hw/qdev.h"

#define TYPE_PORT80   "port80"
#define PORT80_PORT   0x80

/* Creates and realizes the port 0x80 sink. For machines. */
DeviceState *port80_create(GError **errp);

#endif
