/*
 * Character backends: what a UART (and later the monitor) is connected to.
 * -chardev stdio|null|file|socket|pipe,id=..., -serial stdio|null|file:PATH|
 * unix:PATH,server=on[,wait=off]|chardev:ID. See docs/chardev.md.
 */
#ifndef CHARDEV_CHAR_H
#define CHARDEV_CHAR_H

#include "kestrel/osdep.h"

typedef struct Chardev Chardev;

/* What a frontend is told besides data (CharFrontendOps.event, optional). */
typedef enum ChardevEvent {
    CHR_EVENT_OPENED,   /* the backend is connected: a socket client came, or
                         * (other backends) once, soon after attaching */
    CHR_EVENT_CLOSED,   /* the socket client went away */
    CHR_EVENT_BREAK,    /* a break condition (mux: C-a b) */
    CHR_EVENT_MUX_IN,   /* a mux chardev gave this frontend the input focus */
    CHR_EVENT_MUX_OUT,  /* ... and took it away */
} ChardevEvent;

/* The frontend's input callbacks (called on the main thread, big lock held). */
typedef struct CharFrontendOps {
    /* How many bytes the frontend can take now (0 pauses input). */
    int (*can_receive)(void *opaque);
    void (*receive)(void *opaque, const uint8_t *buf, int len);
    /* Optional (may be NULL). */
    void (*event)(void *opaque, ChardevEvent event);
} CharFrontendOps;

/* -chardev BACKEND,id=ID,... */
Chardev *chardev_new_from_option(const char *optarg, GError **errp);
/* -serial / -monitor style spec: "stdio", "null", "file:PATH", "unix:PATH,
 * server=on,wait=off", "chardev:ID", "none" (returns NULL, no error). `id`
 * names the new chardev. */
Chardev *chardev_new_from_legacy(const char *id, const char *spec, GError **errp);
Chardev *chardev_find(const char *id);
const char *chardev_id(const Chardev *chr);

/* Writes all of buf (blocking briefly if the backend is slow); returns len or
 * -1 if the backend is gone. Safe from any thread holding the big lock. */
int chardev_write(Chardev *chr, const uint8_t *buf, int len);
/* Connects a frontend; only one per chardev (false with *errp if taken).
 * A mux chardev (mux=on) takes up to CHARDEV_MUX_MAX frontends; input goes
 * to the one with the focus (the last attached; C-a c moves it on). */
bool chardev_attach_frontend(Chardev *chr, const CharFrontendOps *ops, void *opaque,
                             GError **errp);
void chardev_detach_frontend(Chardev *chr);
/* The frontend calls this when can_receive may have become non-zero. */
void chardev_accept_input(Chardev *chr);

/* Flushes and closes every chardev (restores the terminal for stdio). */
void chardev_close_all(void);

/* ---- additions (chardev helper) ---- */

#define CHARDEV_MUX_MAX 4

/* Detaches the frontend attached with `opaque` (the way to leave a mux
 * chardev; chardev_detach_frontend() detaches every frontend). */
void chardev_detach_frontend_opaque(Chardev *chr, void *opaque);
/* Closes and frees one chardev; a frontend still attached is detached. */
void chardev_delete(Chardev *chr);
bool chardev_is_mux(const Chardev *chr);
/* Mux: gives the input focus to the frontend attached with `opaque`
 * (false if none is). */
bool chardev_mux_set_focus(Chardev *chr, void *opaque);
/* The backend in QEMU's -serial spelling ("stdio", "file:PATH",
 * "unix:PATH,server=on", ...), as query-chardev reports it. */
const char *chardev_filename(const Chardev *chr);
/* True while the backend can deliver output somewhere (a socket has a client). */
bool chardev_is_connected(const Chardev *chr);
bool chardev_has_frontend(const Chardev *chr);
/* Calls fn for every chardev in creation order. */
void chardev_foreach(void (*fn)(Chardev *chr, void *opaque), void *opaque);

/* ---- additions (qmp helper) ---- */

/* Socket chardevs: the oldest fd a client passed with SCM_RIGHTS and nobody
 * took yet (the caller owns it), or -1. */
int chardev_take_received_fd(Chardev *chr);
/* Socket chardevs: drops the current client (a server listens again). */
void chardev_disconnect_client(Chardev *chr);

/* Socket chardevs (not mux): writes what the client takes now, without
 * waiting; returns the bytes written (maybe 0), or -1 when there is no
 * client to write to. Other chardevs: chardev_write(). */
int chardev_write_nonblock(Chardev *chr, const uint8_t *buf, int len);
/* Socket chardevs: a source (attached to the main context, the caller
 * unrefs and destroys it) calling fn once the client can take output;
 * NULL for other chardevs or without a client. */
GSource *chardev_add_out_watch(Chardev *chr, gboolean (*fn)(gint fd, GIOCondition cond,
                                                        gpointer opaque), void *opaque);

#endif
