/*
 * QMP without a socket: the stream splitter (split, batched, nested,
 * oversized and unbounded input), the dispatcher (negotiation, request
 * shape, generic argument checking, error classes, id echo), the JSON
 * spelling, and the introspection checked against its own SchemaInfo type,
 * plus every query command's return value checked against its table type.
 */
#include "monitor/qmp.h"
#include "monitor/monitor.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"
#include "sysemu/runstate.h"
#include "chardev/char.h"
#include "exec/memory.h"
#include "hw/acpi/pm.h"
#include "hw/irq.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- splitter ---- */

typedef struct Collected {
    GPtrArray *messages;   /* "M:text" or "E:error" */
} Collected;

static void collect(void *opaque, const char *text, size_t len, const char *error)
{
    Collected *c = opaque;

    if (error) {
        g_ptr_array_add(c->messages, g_strdup_printf("E:%s", error));
    } else {
        g_ptr_array_add(c->messages, g_strdup_printf("M:%.*s", (int)len, text));
    }
}

static void feed_str(QmpStreamParser *p, const char *s)
{
    g_assert_true(qmp_stream_feed(p, (const uint8_t *)s, strlen(s)));
}

static void test_stream_split_and_batched(void)
{
    Collected c = { g_ptr_array_new_with_free_func(g_free) };
    QmpStreamParser p;
    const char *input = "{\"execute\": \"a\", \"s\": \"}{\\\"\"}  [1,[2]] \"str\" 42 true\n"
                        "{\"x\":{\"y\":[]}}";

    qmp_stream_init(&p, collect, &c);
    /* Byte by byte: the same messages as in one piece. */
    for (const char *s = input; *s; s++) {
        g_assert_true(qmp_stream_feed(&p, (const uint8_t *)s, 1));
    }
    g_assert_cmpuint(c.messages->len, ==, 6);
    g_assert_cmpstr(g_ptr_array_index(c.messages, 0), ==,
                    "M:{\"execute\": \"a\", \"s\": \"}{\\\"\"}");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 1), ==, "M:[1,[2]]");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 2), ==, "M:\"str\"");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 3), ==, "M:42");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 4), ==, "M:true");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 5), ==, "M:{\"x\":{\"y\":[]}}");
    g_ptr_array_set_size(c.messages, 0);
    feed_str(&p, input);
    g_assert_cmpuint(c.messages->len, ==, 6);
    qmp_stream_destroy(&p);
    g_ptr_array_unref(c.messages);
}

static void test_stream_errors(void)
{
    Collected c = { g_ptr_array_new_with_free_func(g_free) };
    QmpStreamParser p;
    GString *deep = g_string_new(NULL);

    qmp_stream_init(&p, collect, &c);
    feed_str(&p, "} {\"a\":1}");
    g_assert_cmpuint(c.messages->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(c.messages, 0), ==, "E:JSON parse error, expecting value");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 1), ==, "M:{\"a\":1}");

    /* Too deep: one error, the rest of that message skipped, then normal. */
    g_ptr_array_set_size(c.messages, 0);
    for (int i = 0; i < QMP_MAX_NESTING + 10; i++) {
        g_string_append_c(deep, '[');
    }
    for (int i = 0; i < QMP_MAX_NESTING + 10; i++) {
        g_string_append_c(deep, ']');
    }
    g_string_append(deep, "{\"ok\":1}");
    feed_str(&p, deep->str);
    g_assert_cmpuint(c.messages->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(c.messages, 0), ==, "E:JSON nesting depth limit exceeded");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 1), ==, "M:{\"ok\":1}");

    /* Too large: one error, then recovery at the end of that message. */
    g_ptr_array_set_size(c.messages, 0);
    size_t big = QMP_MAX_MESSAGE_BYTES + 100;
    char *chunk = g_malloc(big);
    memset(chunk, 'x', big);
    feed_str(&p, "{\"a\":\"");
    g_assert_true(qmp_stream_feed(&p, (uint8_t *)chunk, big));
    feed_str(&p, "\"}{\"b\":2}");
    g_assert_cmpuint(c.messages->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(c.messages, 0), ==, "E:JSON message size limit exceeded");
    g_assert_cmpstr(g_ptr_array_index(c.messages, 1), ==, "M:{\"b\":2}");

    /* Unbounded: the splitter gives up (the monitor drops the client). */
    qmp_stream_reset(&p);
    feed_str(&p, "[\"");
    bool ok = true;
    for (size_t total = 0; ok && total <= QMP_MAX_DISCARD_BYTES + 2 * big; total += big) {
        ok = qmp_stream_feed(&p, (uint8_t *)chunk, big);
    }
    g_assert_false(ok);
    g_free(chunk);
    g_string_free(deep, TRUE);
    qmp_stream_destroy(&p);
    g_ptr_array_unref(c.messages);
}

/* ---- dispatcher ---- */

static GHashTable *named_fds;
static int pending_fd = -1;

static int take_test_fd(void *opaque)
{
    int fd = pending_fd;
    pending_fd = -1;
    return fd;
}

static void close_value(gpointer v)
{
    close(GPOINTER_TO_INT(v));
}

static void session_new(QmpSession *s)
{
    if (!named_fds) {
        named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_value);
    }
    qmp_session_init(s, named_fds);
    s->take_fd = take_test_fd;
}

/* Runs `request` and returns the reply in QEMU's spelling. */
static char *run(QmpSession *s, const char *request)
{
    g_autoptr(JsonNode) reply = qmp_dispatch_text(s, request, strlen(request));
    return qmp_to_json(reply);
}

#define ASSERT_REPLY(s, req, expected) do { \
        g_autofree char *got_ = run((s), (req)); \
        g_assert_cmpstr(got_, ==, (expected)); \
    } while (0)

static void test_negotiation(void)
{
    QmpSession s;

    session_new(&s);
    ASSERT_REPLY(&s, "{\"execute\":\"query-version\"}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting "
                 "capabilities negotiation with 'qmp_capabilities'\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"x\"]}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter "
                 "'enable[0]' does not accept value 'x'\"}}");
    g_assert_false(s.negotiated);
    ASSERT_REPLY(&s, "{\"execute\":\"qmp_capabilities\",\"id\":1}", "{\"return\": {}, \"id\": 1}");
    g_assert_true(s.negotiated);
    ASSERT_REPLY(&s, "{\"execute\":\"qmp_capabilities\"}",
                 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities "
                 "negotiation is already complete, command ignored\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-version\",\"id\":\"v\"}",
                 "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, "
                 "\"package\": \"Kestrel " KESTREL_VERSION "\"}, \"id\": \"v\"}");
}

static void test_request_shape(void)
{
    QmpSession s;

    session_new(&s);
    s.negotiated = true;
    ASSERT_REPLY(&s, "[1]", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input must be a JSON object\"}}");
    ASSERT_REPLY(&s, "{\"foo\":1,\"id\":[1]}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input member 'foo' is unexpected\"}, \"id\": [1]}");
    ASSERT_REPLY(&s, "{\"execute\":true}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input member 'execute' must be a string\"}}");
    ASSERT_REPLY(&s, "{\"id\":2}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"QMP input lacks member 'execute'\"}, \"id\": 2}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-status\",\"arguments\":3}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"QMP input member 'arguments' must be an object\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"nope\"}", "{\"error\": {\"class\": \"CommandNotFound\", "
                 "\"desc\": \"The command nope has not been found\"}}");
    ASSERT_REPLY(&s, "garbage", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, invalid keyword 'garbage'\"}}");
    /* Duplicate keys are refused: json-glib would keep the last one. */
    ASSERT_REPLY(&s, "{\"execute\":\"query-status\",\"execute\":\"quit\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, duplicate key\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":{\"a\":[{\"b\":1,\"b\":1}]}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, duplicate key\"}}");
    /* Integers beyond int64 do not wrap (json-glib would make -2^64+1 a
     * 1): they become numbers, as in QEMU; strings are left alone. */
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":[-18446744073709551615,"
                 "9223372036854775807,\"18446744073709551617\",'1e99999999999999999999']}",
                 "{\"return\": {}, \"id\": [-1.8446744073709552e+19, 9223372036854775807, "
                 "\"18446744073709551617\", \"1e99999999999999999999\"]}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-command-line-options\",\"arguments\":"
                 "{\"option\":18446744073709551617}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type "
                 "for 'option', expected: string\"}}");
    /* Lone UTF-16 surrogates are refused (QEMU's text); pairs are fine,
     * and so is an escaped backslash before "u". */
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":\"x\\udc00\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, \\\\udc00 is not a valid Unicode character\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":\"\\uD800\\u0041\"}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"JSON parse error, \\\\uD800 is not a valid Unicode character\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":\"\\ud83d\\ude00\\\\ud800\"}",
                 "{\"return\": {}, \"id\": \"\\uD83D\\uDE00\\\\ud800\"}");
    /* Equal keys in different objects are no duplicates. */
    ASSERT_REPLY(&s, "{\"execute\":\"query-name\",\"id\":[{\"a\":1},{\"a\":2}]}",
                 "{\"return\": {}, \"id\": [{\"a\": 1}, {\"a\": 2}]}");
    g_autofree char *broken = run(&s, "{\"execute\" \"x\"}");
    g_assert_true(g_str_has_prefix(broken, "{\"error\": {\"class\": \"GenericError\", "
                                   "\"desc\": \"JSON parse error, "));
}

static void test_argument_checking(void)
{
    QmpSession s;

    session_new(&s);
    s.negotiated = true;
    ASSERT_REPLY(&s, "{\"execute\":\"query-status\",\"arguments\":{\"x\":1}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"Parameter 'x' is unexpected\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"getfd\"}", "{\"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"Parameter 'fdname' is missing\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":5}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"Invalid parameter type for 'fdname', expected: string\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"human-monitor-command\",\"arguments\":"
                 "{\"command-line\":\"x\",\"cpu-index\":\"0\"}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"Invalid parameter type for 'cpu-index', expected: integer\"}}");
    ASSERT_REPLY(&s, "{\"execute\":\"human-monitor-command\",\"arguments\":"
                 "{\"command-line\":\"bogus\"}}", "{\"return\": \"unknown command: "
                 "'bogus'\\r\\n\"}");
}

static void test_getfd(void)
{
    QmpSession s;
    int fds[2];

    session_new(&s);
    s.negotiated = true;
    ASSERT_REPLY(&s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"a\"}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"No file descriptor supplied via SCM_RIGHTS\"}}");
    g_assert_cmpint(pipe(fds), ==, 0);
    pending_fd = fds[1];
    ASSERT_REPLY(&s, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"a\"}}",
                 "{\"return\": {}}");
    ASSERT_REPLY(&s, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"a\"}}",
                 "{\"return\": {}}");
    /* The write end is closed now: the read end sees end-of-file. */
    char byte;
    g_assert_cmpint(read(fds[0], &byte, 1), ==, 0);
    close(fds[0]);
    ASSERT_REPLY(&s, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"a\"}}",
                 "{\"error\": {\"class\": \"GenericError\", \"desc\": "
                 "\"File descriptor named 'a' not found\"}}");
}

static void test_json_spelling(void)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_assert_true(json_parser_load_from_data(parser,
        "{\"s\": \"a\\\"\\\\\\n\\u0001\\u00e9\\ud83d\\ude00\", \"n\": -5, \"f\": 1.5, "
        "\"b\": [true, false, null], \"o\": {}}", -1, NULL));
    g_autofree char *text = qmp_to_json(json_parser_get_root(parser));
    g_assert_cmpstr(text, ==, "{\"s\": \"a\\\"\\\\\\n\\u0001\\u00E9\\uD83D\\uDE00\", "
                    "\"n\": -5, \"f\": 1.5, \"b\": [true, false, null], \"o\": {}}");
}

/* Every type a schema entry names is listed, and the whole introspection
 * is a valid [SchemaInfo] by the command table's own return type. */
static void test_schema(void)
{
    g_autoptr(JsonNode) schema = qmp_introspect();
    const QmpCommand *cmd = qmp_command_find("query-qmp-schema");
    JsonArray *arr = json_node_get_array(schema);
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    GError *err = NULL;

    g_assert_nonnull(cmd);
    g_assert_true(qmp_type_check(cmd->ret, schema, "return", &err));
    g_assert_no_error(err);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        const char *name = json_object_get_string_member(e, "name");
        g_assert_false(g_hash_table_contains(names, name));
        g_hash_table_add(names, (gpointer)name);
    }
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        const char *meta = json_object_get_string_member(e, "meta-type");
        if (!strcmp(meta, "command") || !strcmp(meta, "event")) {
            g_assert_true(g_hash_table_contains(names,
                          json_object_get_string_member(e, "arg-type")));
        }
        if (!strcmp(meta, "command")) {
            g_assert_nonnull(qmp_command_find(json_object_get_string_member(e, "name")));
            g_assert_true(g_hash_table_contains(names,
                          json_object_get_string_member(e, "ret-type")));
        }
        if (!strcmp(meta, "array")) {
            g_assert_true(g_hash_table_contains(names,
                          json_object_get_string_member(e, "element-type")));
        }
        if (!strcmp(meta, "object")) {
            JsonArray *members = json_object_get_array_member(e, "members");
            for (guint j = 0; j < json_array_get_length(members); j++) {
                JsonObject *m = json_array_get_object_element(members, j);
                g_assert_true(g_hash_table_contains(names,
                              json_object_get_string_member(m, "type")));
            }
        }
    }
    /* Exactly the table: every command and event is there. */
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        g_assert_true(g_hash_table_contains(names, c->name));
    }
    for (const QmpEvent *e = qmp_events; e->name; e++) {
        g_assert_true(g_hash_table_contains(names, e->name));
    }
}

/* Query commands (no machine) return what their table type says. */
static void test_returns_match_types(void)
{
    QmpSession s;

    session_new(&s);
    s.negotiated = true;
    for (const QmpCommand *c = qmp_commands; c->name; c++) {
        if (!g_str_has_prefix(c->name, "query-")) {
            continue;
        }
        g_autofree char *req = g_strdup_printf("{\"execute\": \"%s\"}", c->name);
        g_autoptr(JsonNode) reply = qmp_dispatch_text(&s, req, strlen(req));
        JsonObject *obj = json_node_get_object(reply);
        GError *err = NULL;

        g_assert_true(json_object_has_member(obj, "return"));
        g_assert_true(qmp_type_check(c->ret, json_object_get_member(obj, "return"), "return",
                                     &err));
        g_assert_no_error(err);
    }
}

static void test_event_message(void)
{
    g_autoptr(JsonNode) msg = qmp_event_message("STOP", NULL);
    JsonObject *o = json_node_get_object(msg);
    JsonObject *ts = json_object_get_object_member(o, "timestamp");

    g_assert_cmpstr(json_object_get_string_member(o, "event"), ==, "STOP");
    g_assert_true(json_object_get_int_member(ts, "seconds") > 1600000000);
    g_assert_cmpint(json_object_get_int_member(ts, "microseconds"), <, 1000000);
    g_assert_false(json_object_has_member(o, "data"));
    g_assert_cmpstr(shutdown_cause_name(SHUTDOWN_CAUSE_HOST_SIGNAL), ==, "host-signal");
    g_assert_true(shutdown_cause_is_guest(SHUTDOWN_CAUSE_GUEST_SHUTDOWN));
    g_assert_false(shutdown_cause_is_guest(SHUTDOWN_CAUSE_HOST_QMP_QUIT));
}


/* ---- a monitor on a real socket chardev ---- */

static void run_pending_sources(void)
{
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(main_loop_context(), FALSE);
    }
}

/* Pumps the main loop until `fd` has a full line; returns it without CRLF. */
static char *read_line(int fd)
{
    GString *line = g_string_new(NULL);
    gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    for (;;) {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n == 1) {
            g_string_append_c(line, c);
            if (g_str_has_suffix(line->str, "\r\n")) {
                g_string_truncate(line, line->len - 2);
                return g_string_free(line, FALSE);
            }
            continue;
        }
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        /* What main_loop_run() does: requests, then one iteration. */
        int status;
        g_assert_false(runstate_handle_requests(&status));
        g_main_context_iteration(main_loop_context(), FALSE);
        g_usleep(500);
    }
}

static void send_str(int fd, const char *s)
{
    g_assert_cmpint(send(fd, s, strlen(s), 0), ==, (ssize_t)strlen(s));
}

static void send_with_fd(int sock, const char *s, int fd)
{
    char control[CMSG_SPACE(sizeof(int))] = { 0 };
    struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = control, .msg_controllen = sizeof(control) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    g_assert_cmpint(sendmsg(sock, &msg, 0), ==, (ssize_t)strlen(s));
}

static int connect_unix(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    return fd;
}

static void test_monitor_socket(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "qmp.sock", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    GError *err = NULL;
    int sock, pipefd[2];
    char byte;

    g_assert_true(monitor_new_from_qmp_option(spec, &err));
    g_assert_no_error(err);
    g_assert_true(monitor_exists());
    g_assert_false(exit_on_internal_error);

    for (int round = 0; round < 2; round++) {
        /* Each client gets the greeting and must negotiate again. */
        sock = connect_unix(path);
        g_autofree char *greeting = read_line(sock);
        g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": {\"version\": {\"qemu\": "
                                       "{\"micro\": 0, \"minor\": 2, \"major\": 7}"));
        /* Split across writes, then two in one write. */
        send_str(sock, "{\"execute\": \"qmp_");
        g_main_context_iteration(main_loop_context(), FALSE);
        send_str(sock, "capabilities\"}\n{\"execute\":\"query-name\"} {\"execute\":\"query-uuid\"}");
        g_autofree char *r1 = read_line(sock);
        g_autofree char *r2 = read_line(sock);
        g_autofree char *r3 = read_line(sock);
        g_assert_cmpstr(r1, ==, "{\"return\": {}}");
        g_assert_cmpstr(r2, ==, "{\"return\": {}}");
        g_assert_cmpstr(r3, ==, "{\"return\": {\"UUID\": \"00000000-0000-0000-0000-000000000000\"}}");

        /* An event reaches a negotiated client as its own line. */
        qmp_send_event_reset(SHUTDOWN_CAUSE_GUEST_RESET);
        g_autofree char *ev = read_line(sock);
        g_assert_true(strstr(ev, "\"event\": \"RESET\", \"data\": {\"guest\": true, "
                             "\"reason\": \"guest-reset\"}}") != NULL);

        if (round == 0) {
            /* A batch: each command's events come just before its reply,
             * the reset's after the main loop handled the request. */
            send_str(sock, "{\"execute\":\"cont\"}");
            g_autofree char *resume = read_line(sock);
            g_autofree char *cont_reply = read_line(sock);
            g_assert_nonnull(strstr(resume, "\"event\": \"RESUME\"}"));
            g_assert_cmpstr(cont_reply, ==, "{\"return\": {}}");
            send_str(sock, "{\"execute\":\"stop\",\"id\":1}{\"execute\":\"system_reset\","
                     "\"id\":2}{\"execute\":\"cont\",\"id\":3}");
            const char *expected[] = {
                "\"event\": \"STOP\"}", "{\"return\": {}, \"id\": 1}",
                "\"event\": \"RESET\", \"data\": {\"guest\": false, "
                "\"reason\": \"host-qmp-system-reset\"}}", "{\"return\": {}, \"id\": 2}",
                "\"event\": \"RESUME\"}", "{\"return\": {}, \"id\": 3}",
            };
            for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
                g_autofree char *line = read_line(sock);
                g_assert_true(g_str_has_suffix(line, expected[i]));
            }
            g_assert_cmpint(runstate_get(), ==, RUN_STATE_RUNNING);
        }

        /* SCM_RIGHTS: getfd keeps the fd, closefd closes it. */
        g_assert_cmpint(pipe(pipefd), ==, 0);
        send_with_fd(sock, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"p\"},\"id\":1}",
                     pipefd[1]);
        close(pipefd[1]);
        g_autofree char *r4 = read_line(sock);
        g_assert_cmpstr(r4, ==, "{\"return\": {}, \"id\": 1}");
        send_str(sock, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"p\"}}");
        g_autofree char *r5 = read_line(sock);
        g_assert_cmpstr(r5, ==, "{\"return\": {}}");
        g_assert_cmpint(read(pipefd[0], &byte, 1), ==, 0);   /* no writer left */
        close(pipefd[0]);
        close(sock);
        run_pending_sources();
    }
    monitor_cleanup();
    g_assert_false(monitor_exists());
    chardev_close_all();
    rmdir(dir);
}

/* fd=N: a listening socket made by "the parent". */
static void test_inherited_fd(void)
{
    g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "inh.sock", NULL);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0), sock;
    GError *err = NULL;
    Chardev *chr;

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    g_autofree char *opt = g_strdup_printf("socket,id=inh,fd=%d,server=on,wait=off", lfd);
    chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    g_assert_true(monitor_new_qmp(chr, &err));
    sock = connect_unix(path);
    g_autofree char *greeting = read_line(sock);
    g_assert_true(g_str_has_prefix(greeting, "{\"QMP\": "));
    close(sock);

    /* Not a socket, or not listening: refused. */
    g_assert_null(chardev_new_from_option("socket,id=bad,fd=0,server=on", &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
    monitor_cleanup();
    chardev_close_all();
    unlink(path);
    rmdir(dir);
}

static void test_pty(void)
{
    GError *err = NULL;
    Chardev *chr = chardev_new_from_option("pty,id=p0", &err);
    const char *name;
    char buf[8];
    int slave;

    g_assert_no_error(err);
    name = chardev_filename(chr);
    g_assert_true(g_str_has_prefix(name, "pty:/dev/pts/"));
    slave = open(name + 4, O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"hi\n", 3), ==, 3);
    /* Raw mode: the bytes arrive unchanged (no CR added). */
    g_assert_cmpint(read(slave, buf, sizeof(buf)), ==, 3);
    g_assert_cmpint(memcmp(buf, "hi\n", 3), ==, 0);
    close(slave);
    chardev_close_all();
}

/* system_powerdown presses the ACPI power button: PWRBTN_STS is set and,
 * once the OS enabled PWRBTN_EN, the SCI line goes high (level). */
static int sci_level = -1;

static void sci_handler(void *opaque, int n, int level)
{
    sci_level = level;
}

static void test_powerdown(void)
{
    QmpSession s;
    GError *err = NULL;
    uint64_t sts = 0;
    DeviceState *pm;
    qemu_irq sci = irq_new(sci_handler, NULL, 0);

    g_assert_null(acpi_pm_find());
    pm = acpi_pm_create(0x600, 0xafe0, sci, &err);
    g_assert_no_error(err);
    g_assert_true(acpi_pm_find() == pm);
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x602, ACPI_PM1_PWRBTN, 2),
                    ==, MEMTX_OK);
    g_assert_cmpint(sci_level, ==, 0);

    session_new(&s);
    s.negotiated = true;
    ASSERT_REPLY(&s, "{\"execute\":\"system_powerdown\"}", "{\"return\": {}}");
    g_assert_cmpint(address_space_read_sized(&address_space_io, 0x600, &sts, 2), ==, MEMTX_OK);
    g_assert_cmphex(sts & ACPI_PM1_PWRBTN, ==, ACPI_PM1_PWRBTN);
    g_assert_cmpint(sci_level, ==, 1);
    /* The OS acknowledges: status cleared, SCI low again. */
    g_assert_cmpint(address_space_write_sized(&address_space_io, 0x600, ACPI_PM1_PWRBTN, 2),
                    ==, MEMTX_OK);
    g_assert_cmpint(sci_level, ==, 0);
    device_destroy(pm);
    g_assert_null(acpi_pm_find());
    irq_free(sci);
}

/* ---- hostile input: splitter and dispatcher together ---- */

typedef struct FuzzSink {
    QmpSession *session;
    unsigned replies;
} FuzzSink;

static void fuzz_emit(void *opaque, const char *text, size_t len, const char *error)
{
    FuzzSink *sink = opaque;
    g_autoptr(JsonNode) reply = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autofree char *out = NULL;

    if (error) {
        return;
    }
    reply = qmp_dispatch_text(sink->session, text, len);
    out = qmp_to_json(reply);
    /* Whatever came in, the reply is one ASCII JSON object with "return"
     * or "error", and no line break inside (CRLF ends it on the wire). */
    for (const char *c = out; *c; c++) {
        g_assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
    }
    g_assert_true(json_parser_load_from_data(parser, out, -1, NULL));
    g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser)));
    JsonObject *obj = json_node_get_object(json_parser_get_root(parser));
    g_assert_true(json_object_has_member(obj, "return") ||
                  json_object_has_member(obj, "error"));
    sink->replies++;
}

static void test_fuzz(void)
{
    /* Fragments of requests (only commands without side effects) and
     * troublesome bytes, glued in random order and cut at random. */
    static const char *const pieces[] = {
        "{", "}", "[", "]", ":", ",", " ", "\n", "\"execute\"", "\"arguments\"", "\"id\"",
        "\"query-status\"", "\"query-name\"", "\"human-monitor-command\"",
        "\"command-line\"", "\"info status\"", "\"cpu-index\"", "\"getfd\"",
        "\"fdname\"", "\"closefd\"", "\"query-version\"", "\"enable\"",
        "1e400", "-0", "18446744073709551616", "-9223372036854775809", "0.5", "null",
        "true", "false", "tru", "\"\\ud800\"", "\"\\udc00\"", "\"\\u0000\"",
        "\"\xff\xfe\"", "\"\xc0\x80\"", "\"a\r\nb\"", "\"\\\"", "'x'", "\\",
        "{\"execute\":\"query-status\"}", "{\"execute\":\"query-status\",\"id\":",
        "[[[[[[[[", "]]]]]]]]", "{\"a\":{\"a\":{\"a\":",
    };
    GRand *rng = g_rand_new_with_seed(12345);
    QmpSession session;
    FuzzSink sink = { &session, 0 };
    QmpStreamParser p;
    GString *input = g_string_new(NULL);

    session_new(&session);
    session.negotiated = true;
    qmp_stream_init(&p, fuzz_emit, &sink);
    for (int round = 0; round < 3000; round++) {
        g_string_truncate(input, 0);
        int n = g_rand_int_range(rng, 1, 40);
        for (int i = 0; i < n; i++) {
            if (g_rand_int_range(rng, 0, 8) == 0) {
                g_string_append_c(input, (char)g_rand_int_range(rng, 0, 256));
            } else {
                g_string_append(input, pieces[g_rand_int_range(rng, 0, G_N_ELEMENTS(pieces))]);
            }
        }
        /* NUL bytes too (the strings above cannot hold them). */
        if (g_rand_int_range(rng, 0, 10) == 0) {
            g_string_insert_c(input, g_rand_int_range(rng, 0, (gint32)input->len + 1), 0);
        }
        for (gsize off = 0; off < input->len;) {
            gsize chunk = MIN(input->len - off, (gsize)g_rand_int_range(rng, 1, 64));
            g_assert_true(qmp_stream_feed(&p, (const uint8_t *)input->str + off, chunk));
            off += chunk;
        }
        if (g_rand_int_range(rng, 0, 20) == 0) {
            qmp_stream_reset(&p);   /* a client leaving mid-message */
        }
    }
    /* It still works afterwards. */
    qmp_stream_reset(&p);
    unsigned before = sink.replies;
    feed_str(&p, "{\"execute\":\"query-name\"}");
    g_assert_cmpuint(sink.replies, ==, before + 1);
    g_assert_cmpuint(before, >, 100);
    qmp_stream_destroy(&p);
    g_string_free(input, TRUE);
    g_rand_free(rng);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qmp/stream/split-and-batched", test_stream_split_and_batched);
    g_test_add_func("/qmp/stream/errors", test_stream_errors);
    g_test_add_func("/qmp/dispatch/negotiation", test_negotiation);
    g_test_add_func("/qmp/dispatch/request-shape", test_request_shape);
    g_test_add_func("/qmp/dispatch/arguments", test_argument_checking);
    g_test_add_func("/qmp/dispatch/getfd", test_getfd);
    g_test_add_func("/qmp/dispatch/fuzz", test_fuzz);
    g_test_add_func("/qmp/json/spelling", test_json_spelling);
    g_test_add_func("/qmp/schema/introspection", test_schema);
    g_test_add_func("/qmp/schema/returns", test_returns_match_types);
    g_test_add_func("/qmp/event/message", test_event_message);
    g_test_add_func("/qmp/monitor/socket", test_monitor_socket);
    g_test_add_func("/qmp/monitor/inherited-fd", test_inherited_fd);
    g_test_add_func("/qmp/chardev/pty", test_pty);
    g_test_add_func("/qmp/command/powerdown", test_powerdown);
    bql_lock();
    main_loop_init();
    memory_system_init();
    return g_test_run();
}
