/*
 * Monitors: QMP servers on chardevs (-qmp, -mon chardev=ID,mode=control),
 * and the events the machine sends through them. Main thread, big lock held.
 */
#ifndef MONITOR_MONITOR_H
#define MONITOR_MONITOR_H

#include "kestrel/osdep.h"
#include "sysemu/runstate.h"

typedef struct Chardev Chardev;

/* Attaches a QMP monitor to chr (one client at a time; the next client
 * gets a fresh session). */
bool monitor_new_qmp(Chardev *chr, GError **errp);
/* -qmp SPEC: a chardev in -serial spelling ("unix:PATH,server=on,wait=off",
 * "tcp:HOST:PORT,server=on,wait=off") with a monitor on it. */
bool monitor_new_from_qmp_option(const char *spec, GError **errp);
/* -mon chardev=ID[,mode=control][,pretty=off]. */
bool monitor_new_from_mon_option(const char *optarg, GError **errp);
bool monitor_exists(void);
/* Detaches and frees every monitor (before chardevs close). */
void monitor_cleanup(void);

/* Events, sent to every negotiated client. */
void qmp_send_event_stop(void);
void qmp_send_event_resume(void);
void qmp_send_event_shutdown(ShutdownCause cause);
void qmp_send_event_reset(ShutdownCause cause);
void qmp_send_event_powerdown(void);
/* The QAPI ShutdownCause spelling ("host-signal", "guest-shutdown", ...). */
const char *shutdown_cause_name(ShutdownCause cause);
bool shutdown_cause_is_guest(ShutdownCause cause);

/* -name and -uuid, for query-name / query-uuid. */
extern char *vm_name;
extern char vm_uuid[37];

#endif
