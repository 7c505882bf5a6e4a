/*
 * QMP, the machine protocol: the JSON stream splitter, the type tables that
 * describe every command's arguments and return value and every event's
 * data, the generic argument checker, the dispatcher and the introspection
 * (query-qmp-schema) generated from the same tables. The transport (a
 * monitor on a chardev) is in include/monitor/monitor.h. See docs/qmp.md.
 */
#ifndef MONITOR_QMP_H
#define MONITOR_QMP_H

#include "kestrel/osdep.h"
#include <json-glib/json-glib.h>

/* ---- errors: the "class" of an error reply ---- */

#define QMP_ERROR qmp_error_quark()
GQuark qmp_error_quark(void);
typedef enum QmpErrorClass {
    QMP_ERROR_CLASS_GENERIC,            /* "GenericError" (also any non-QMP GError) */
    QMP_ERROR_CLASS_COMMAND_NOT_FOUND,  /* "CommandNotFound" */
    QMP_ERROR_CLASS_DEVICE_NOT_ACTIVE,  /* "DeviceNotActive" */
    QMP_ERROR_CLASS_DEVICE_NOT_FOUND,   /* "DeviceNotFound" */
    QMP_ERROR_CLASS_KVM_MISSING_CAP,    /* "KVMMissingCap" */
} QmpErrorClass;
const char *qmp_error_class_name(const GError *err);

/* ---- the type tables ---- */

typedef enum QmpTypeKind {
    QMP_KIND_BUILTIN,
    QMP_KIND_ENUM,
    QMP_KIND_ARRAY,
    QMP_KIND_OBJECT,
} QmpTypeKind;

typedef struct QmpType QmpType;

typedef struct QmpMember {
    const char *name;
    const QmpType *type;
    bool optional;
} QmpMember;

typedef struct QmpVariant {
    const char *tag_value;      /* a value of the tag member's enum */
    const QmpType *type;        /* an object whose members are added */
} QmpVariant;

struct QmpType {
    const char *name;           /* as introspection names it ("[T]" for arrays) */
    QmpTypeKind kind;
    const char *json_type;      /* builtin: "string", "int", "number", "boolean", "value" */
    const char *const *values;  /* enum: NULL-terminated */
    const QmpType *element;     /* array */
    const QmpMember *members;   /* object: terminated by a NULL name */
    const char *tag;            /* object: flat-union tag member, or NULL */
    const QmpVariant *variants; /* ... and its cases, terminated by a NULL tag_value */
};

extern const QmpType qmp_type_str, qmp_type_int, qmp_type_bool, qmp_type_number,
    qmp_type_any, qmp_type_empty, qmp_type_str_list;

/* Checks `value` against `type`; `path` names it in messages ("x" or
 * "a.b"), NULL for the top-level arguments object. The messages are QEMU's. */
bool qmp_type_check(const QmpType *type, JsonNode *value, const char *path, GError **errp);

/* ---- commands and the session that runs them ---- */

typedef struct QmpSession QmpSession;

/* Returns the "return" value (new reference), or NULL with *errp set. */
typedef JsonNode *(*QmpCommandFn)(QmpSession *session, JsonObject *args, GError **errp);

typedef struct QmpCommand {
    const char *name;
    const QmpType *args;        /* an object type (qmp_type_empty: none) */
    const QmpType *ret;
    QmpCommandFn fn;
} QmpCommand;

typedef struct QmpEvent {
    const char *name;
    const QmpType *data;        /* an object type (qmp_type_empty: no data) */
} QmpEvent;

/* The tables (monitor/qmp-commands.c), terminated by a NULL name. */
extern const QmpCommand qmp_commands[];
extern const QmpEvent qmp_events[];
const QmpCommand *qmp_command_find(const char *name);
const QmpEvent *qmp_event_find(const char *name);

/* One client's protocol state. */
struct QmpSession {
    bool negotiated;            /* qmp_capabilities done: commands and events */
    /* Receives fds passed with SCM_RIGHTS (getfd): returns one or -1. */
    int (*take_fd)(void *opaque);
    void *opaque;
    /* getfd names -> fds; owned by the monitor, outlives the client. */
    GHashTable *named_fds;
};

void qmp_session_init(QmpSession *session, GHashTable *named_fds);

/* Runs one parsed message and returns the response object (a new reference,
 * with "return" or "error" and the "id" echoed). */
JsonNode *qmp_dispatch(QmpSession *session, JsonNode *request);
/* Parses one message text (from the splitter) and runs it. */
JsonNode *qmp_dispatch_text(QmpSession *session, const char *text, size_t len);
JsonNode *qmp_error_response(const GError *err, JsonNode *id);

/* The greeting object ({"QMP": {...}}). */
JsonNode *qmp_greeting(void);
/* An event message with the current time; data may be NULL (no "data"). */
JsonNode *qmp_event_message(const char *name, JsonNode *data);
/* query-qmp-schema: introspection of qmp_commands and qmp_events. */
JsonNode *qmp_introspect(void);

/* QEMU's JSON spelling: '{"a": 1, "b": [true, null]}'. */
char *qmp_to_json(JsonNode *node);

/* ---- the stream splitter ---- */

/* Cuts a byte stream into top-level JSON texts (objects, arrays, strings,
 * bare words) without parsing them, so a message may arrive split across
 * reads or several in one read. */
#define QMP_MAX_MESSAGE_BYTES   (16u << 20)    /* larger: an error reply */
#define QMP_MAX_NESTING         1024           /* deeper: an error reply */
#define QMP_MAX_DISCARD_BYTES   (256u << 20)   /* a message this long closes the client */

typedef struct QmpStreamParser {
    GString *buf;               /* the message being collected */
    unsigned depth;
    bool in_string, escape, bare;
    bool discarding;            /* an oversized message: skip to its end */
    size_t discarded;
    /* Called with each complete message text, or with an error message
     * (text NULL). */
    void (*emit)(void *opaque, const char *text, size_t len, const char *error);
    void *opaque;
} QmpStreamParser;

void qmp_stream_init(QmpStreamParser *p, void (*emit)(void *, const char *, size_t,
                                                      const char *), void *opaque);
/* False when the input is unbounded garbage and the client must go. */
bool qmp_stream_feed(QmpStreamParser *p, const uint8_t *data, size_t len);
void qmp_stream_reset(QmpStreamParser *p);
void qmp_stream_destroy(QmpStreamParser *p);

/* ---- the human monitor (human-monitor-command) ---- */

/* Runs one command line (cpu_index: the vCPU `info registers` shows);
 * returns its output (never NULL), lines ending in CRLF like QEMU's. */
char *hmp_run(const char *command_line, int cpu_index);

typedef struct CPUState CPUState;
/* The host thread id of a vCPU (query-cpus-fast, info cpus). */
int64_t qmp_cpu_thread_id(CPUState *cpu);

#endif
