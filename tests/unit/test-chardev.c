/* Character backends: option errors, file/pipe/socket/stdio data paths,
 * flow control, one-client-at-a-time, mux escapes, terminal restore. */
#include "chardev/char.h"
#include "sysemu/cpus.h"
#include "sysemu/main-loop.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* A generous bound so a broken build fails instead of hanging; no test
 * asserts on how long anything takes. */
#define WAIT_LIMIT_US (20 * G_USEC_PER_SEC)

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* Runs the main context until cond(opaque) holds. */
static void wait_for(bool (*cond)(void *opaque), void *opaque)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_US;

    while (!cond(opaque)) {
        g_assert_cmpint(g_get_monotonic_time(), <, deadline);
        g_main_context_iteration(main_loop_context(), FALSE);
        if (!cond(opaque)) {
            g_usleep(1000);
        }
    }
}

/* Runs every ready source a few times (for "nothing more happens"). */
static void run_pending(void)
{
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(main_loop_context(), FALSE);
    }
}

/* ---- a recording frontend ---- */

typedef struct TestFrontend {
    GByteArray *data;
    int room;               /* what can_receive reports */
    int opened, closed, breaks, mux_in, mux_out;
} TestFrontend;

static int fe_can_receive(void *opaque)
{
    TestFrontend *fe = opaque;
    return fe->room;
}

static void fe_receive(void *opaque, const uint8_t *buf, int len)
{
    TestFrontend *fe = opaque;
    g_assert_cmpint(len, <=, fe->room);
    g_assert_cmpint(len, >, 0);
    g_byte_array_append(fe->data, buf, len);
    fe->room -= len;
}

static void fe_event(void *opaque, ChardevEvent event)
{
    TestFrontend *fe = opaque;
    switch (event) {
    case CHR_EVENT_OPENED: fe->opened++; break;
    case CHR_EVENT_CLOSED: fe->closed++; break;
    case CHR_EVENT_BREAK: fe->breaks++; break;
    case CHR_EVENT_MUX_IN: fe->mux_in++; break;
    case CHR_EVENT_MUX_OUT: fe->mux_out++; break;
    }
}

static const CharFrontendOps test_fe_ops = {
    .can_receive = fe_can_receive,
    .receive = fe_receive,
    .event = fe_event,
};

static void fe_init(TestFrontend *fe, int room)
{
    memset(fe, 0, sizeof(*fe));
    fe->data = g_byte_array_new();
    fe->room = room;
}

static void fe_free(TestFrontend *fe)
{
    g_byte_array_unref(fe->data);
}

typedef struct Want {
    TestFrontend *fe;
    guint len;
} Want;

static bool fe_has_len(void *opaque)
{
    Want *w = opaque;
    return w->fe->data->len >= w->len;
}

static void fe_wait_len(TestFrontend *fe, guint len)
{
    Want w = { fe, len };
    wait_for(fe_has_len, &w);
    g_assert_cmpuint(fe->data->len, ==, len);
}

static bool int_nonzero(void *opaque)
{
    return *(int *)opaque != 0;
}

static bool int_reaches(int *counter, int value)
{
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_US;
    while (*counter < value && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(main_loop_context(), FALSE);
        g_usleep(1000);
    }
    return *counter >= value;
}

static char *read_file(const char *path, gsize *len)
{
    char *contents = NULL;
    GError *err = NULL;
    g_assert_true(g_file_get_contents(path, &contents, len, &err));
    g_assert_no_error(err);
    return contents;
}

/* ---- option errors ---- */

static void expect_error(const char *optarg, const char *fragment)
{
    GError *err = NULL;
    Chardev *chr = chardev_new_from_option(optarg, &err);

    g_assert_null(chr);
    g_assert_nonnull(err);
    g_assert_true(g_error_matches(err, KESTREL_ERROR, KESTREL_ERROR_FAILED));
    if (!strstr(err->message, fragment)) {
        g_test_message("'%s' gave '%s', expected it to mention '%s'", optarg, err->message,
                       fragment);
        g_assert_not_reached();
    }
    g_error_free(err);
}

static void test_option_errors(void)
{
    g_autofree char *file = tmp_path("errors.out");
    g_autofree char *opt = NULL;

    expect_error("", "no backend");
    expect_error("bogus,id=x", "'bogus' is not a valid chardev backend");
    expect_error("vc,id=x", "'vc' is not supported");
    expect_error("null", "'id' is missing");
    expect_error("null,id=9lives", "invalid");
    expect_error("file,id=f", "needs path=");
    expect_error("pipe,id=p", "needs path=");
    expect_error("socket,id=s", "needs path=");
    expect_error("socket,id=s,path=/tmp/x,wait=off", "'wait' only applies");
    expect_error("socket,id=s,path=/tmp/x,host=h,port=1", "either path=");
    expect_error("socket,id=s,path=/tmp/x,server=on,telnet=on", "'telnet' is not supported");
    expect_error("null,id=n,mux=maybe", "'mux' must be on or off");
    expect_error("file,id=f,path=/nonexistent-dir/x", "cannot open '/nonexistent-dir/x'");
    opt = g_strdup_printf("file,id=f,path=%s,colour=red", file);
    expect_error(opt, "invalid parameter 'colour'");
    expect_error("stdio,id=s,path=/x", "invalid parameter 'path'");
    expect_error("null,id=n,,", "");

    /* Nothing half-made was left behind. */
    g_assert_null(chardev_find("x"));
    g_assert_null(chardev_find("f"));
    g_assert_null(chardev_find("s"));
    g_assert_null(chardev_find("n"));

    /* A duplicate id. */
    GError *err = NULL;
    Chardev *chr = chardev_new_from_option("null,id=dup", &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    g_assert_true(chardev_find("dup") == chr);
    g_assert_cmpstr(chardev_id(chr), ==, "dup");
    expect_error("null,id=dup", "duplicate id 'dup'");
    chardev_delete(chr);
    g_assert_null(chardev_find("dup"));
}

static void test_legacy_specs(void)
{
    g_autofree char *file = tmp_path("legacy.out");
    g_autofree char *spec = g_strdup_printf("file:%s", file);
    g_autofree char *want = g_strdup_printf("file:%s", file);
    GError *err = NULL;
    Chardev *chr, *again;

    g_assert_null(chardev_new_from_legacy("serial0", "none", &err));
    g_assert_no_error(err);

    chr = chardev_new_from_legacy("serial0", spec, &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    g_assert_cmpstr(chardev_id(chr), ==, "serial0");
    g_assert_cmpstr(chardev_filename(chr), ==, want);
    g_assert_false(chardev_is_mux(chr));

    again = chardev_new_from_legacy("serial1", "chardev:serial0", &err);
    g_assert_no_error(err);
    g_assert_true(again == chr);

    g_assert_null(chardev_new_from_legacy("serial1", "chardev:nope", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "'nope' not found"));
    g_clear_error(&err);

    g_assert_null(chardev_new_from_legacy("serial1", "vc:80Cx24C", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "not a supported character device"));
    g_clear_error(&err);

    Chardev *mux = chardev_new_from_legacy("serial2", "mon:null", &err);
    g_assert_no_error(err);
    g_assert_true(chardev_is_mux(mux));

    chardev_delete(mux);
    chardev_delete(chr);
}

/* ---- file ---- */

static void test_file_exact_bytes(void)
{
    g_autofree char *path = tmp_path("file.out");
    g_autofree char *opt = g_strdup_printf("file,id=file0,path=%s", path);
    static const uint8_t bytes[] = { 'o', 'k', 0x00, 0xff, '\r', '\n', 0x1b, '[', 'm' };
    GError *err = NULL;
    Chardev *chr;
    gsize len;

    /* Existing contents are replaced by default. */
    g_assert_true(g_file_set_contents(path, "old contents", -1, NULL));
    chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    g_assert_cmpint(chardev_write(chr, bytes, 4), ==, 4);
    g_assert_cmpint(chardev_write(chr, bytes + 4, sizeof(bytes) - 4), ==, sizeof(bytes) - 4);
    g_assert_cmpint(chardev_write(chr, bytes, 0), ==, 0);
    g_assert_true(chardev_is_connected(chr));
    chardev_delete(chr);

    g_autofree char *contents = read_file(path, &len);
    g_assert_cmpmem(contents, len, bytes, sizeof(bytes));

    /* append=on keeps them, and a large write arrives whole. */
    g_autofree char *opt2 = g_strdup_printf("file,id=file1,path=%s,append=on", path);
    chr = chardev_new_from_option(opt2, &err);
    g_assert_no_error(err);
    g_autofree uint8_t *big = g_malloc(100000);
    for (int i = 0; i < 100000; i++) {
        big[i] = (uint8_t)(i * 7);
    }
    g_assert_cmpint(chardev_write(chr, big, 100000), ==, 100000);
    chardev_close_all();
    g_assert_null(chardev_find("file1"));

    g_autofree char *contents2 = read_file(path, &len);
    g_assert_cmpuint(len, ==, sizeof(bytes) + 100000);
    g_assert_cmpmem(contents2, sizeof(bytes), bytes, sizeof(bytes));
    g_assert_cmpmem(contents2 + sizeof(bytes), 100000, big, 100000);
}

static void test_null_and_logfile(void)
{
    g_autofree char *log = tmp_path("null.log");
    g_autofree char *opt = g_strdup_printf("null,id=n0,logfile=%s", log);
    GError *err = NULL;
    Chardev *chr = chardev_new_from_option(opt, &err);
    gsize len;

    g_assert_no_error(err);
    g_assert_cmpstr(chardev_filename(chr), ==, "null");
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"logged", 6), ==, 6);
    chardev_delete(chr);
    g_autofree char *contents = read_file(log, &len);
    g_assert_cmpmem(contents, len, "logged", 6);
}

/* ---- frontends ---- */

static void test_frontend_rules(void)
{
    GError *err = NULL;
    Chardev *chr = chardev_new_from_option("null,id=single", &err);
    TestFrontend a, b;

    fe_init(&a, 0);
    fe_init(&b, 0);
    g_assert_no_error(err);
    g_assert_false(chardev_has_frontend(chr));
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &a, &err));
    g_assert_no_error(err);
    g_assert_true(chardev_has_frontend(chr));
    g_assert_false(chardev_attach_frontend(chr, &test_fe_ops, &b, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "already in use"));
    g_clear_error(&err);

    /* OPENED arrives from the main loop, not inside attach. */
    g_assert_cmpint(a.opened, ==, 0);
    g_assert_true(int_reaches(&a.opened, 1));
    run_pending();
    g_assert_cmpint(a.opened, ==, 1);

    chardev_detach_frontend(chr);
    g_assert_false(chardev_has_frontend(chr));
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &b, &err));
    g_assert_no_error(err);

    /* close_all while a device still holds it: the device may still write
     * and detach safely. */
    chardev_close_all();
    g_assert_null(chardev_find("single"));
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"x", 1), ==, -1);
    chardev_detach_frontend(chr);
    fe_free(&a);
    fe_free(&b);
}

/* ---- pipe ---- */

static void test_pipe_round_trip(void)
{
    g_autofree char *base = tmp_path("fifo");
    g_autofree char *in = g_strdup_printf("%s.in", base);
    g_autofree char *out = g_strdup_printf("%s.out", base);
    g_autofree char *opt = g_strdup_printf("pipe,id=pipe0,path=%s", base);
    GError *err = NULL;
    TestFrontend fe;
    char buf[16];

    g_assert_cmpint(mkfifo(in, 0600), ==, 0);
    g_assert_cmpint(mkfifo(out, 0600), ==, 0);
    Chardev *chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    fe_init(&fe, 100);
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &fe, &err));

    int host_in = open(in, O_WRONLY | O_NONBLOCK);
    int host_out = open(out, O_RDONLY | O_NONBLOCK);
    g_assert_cmpint(host_in, >=, 0);
    g_assert_cmpint(host_out, >=, 0);

    g_assert_cmpint(write(host_in, "to-guest", 8), ==, 8);
    fe_wait_len(&fe, 8);
    g_assert_cmpmem(fe.data->data, 8, "to-guest", 8);

    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"to-host", 7), ==, 7);
    g_assert_cmpint(read(host_out, buf, sizeof(buf)), ==, 7);
    g_assert_cmpmem(buf, 7, "to-host", 7);

    chardev_delete(chr);
    close(host_in);
    close(host_out);
    fe_free(&fe);
}

/* ---- socket ---- */

static int unix_client(const char *path)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    return fd;
}

/* Reads exactly len bytes from fd (blocking, bounded). */
static void client_read_exact(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        g_assert_cmpint(poll(&pfd, 1, WAIT_LIMIT_US / 1000), ==, 1);
        ssize_t n = read(fd, buf + got, len - got);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
}

/* True if fd has nothing to read now (after the main loop ran). */
static bool client_has_nothing(int fd)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    return poll(&pfd, 1, 0) == 0;
}

static void test_socket_round_trip(void)
{
    g_autofree char *path = tmp_path("sock");
    g_autofree char *opt = g_strdup_printf("socket,id=sock0,path=%s,server=on,wait=off", path);
    g_autofree char *want_name = g_strdup_printf("unix:%s,server=on", path);
    GError *err = NULL;
    TestFrontend fe;
    char buf[64];
    struct stat st;

    Chardev *chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chardev_filename(chr), ==, want_name);
    g_assert_false(chardev_is_connected(chr));
    fe_init(&fe, 1000);
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &fe, &err));

    /* Output with nobody connected is dropped, not queued. */
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"lost", 4), ==, 4);

    int client = unix_client(path);
    wait_for(int_nonzero, &fe.opened);
    g_assert_true(chardev_is_connected(chr));

    g_assert_cmpint(write(client, "hello", 5), ==, 5);
    fe_wait_len(&fe, 5);
    g_assert_cmpmem(fe.data->data, 5, "hello", 5);

    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"world", 5), ==, 5);
    client_read_exact(client, buf, 5);
    g_assert_cmpmem(buf, 5, "world", 5);
    run_pending();
    g_assert_true(client_has_nothing(client));   /* "lost" never arrives */

    /* Flow control: the frontend takes 3, the rest waits in the socket
     * until it makes room and says so. */
    g_byte_array_set_size(fe.data, 0);
    fe.room = 3;
    g_assert_cmpint(write(client, "0123456789", 10), ==, 10);
    fe_wait_len(&fe, 3);
    run_pending();
    g_assert_cmpuint(fe.data->len, ==, 3);
    fe.room = 100;
    chardev_accept_input(chr);
    fe_wait_len(&fe, 10);
    g_assert_cmpmem(fe.data->data, 10, "0123456789", 10);

    /* The client leaves: CLOSED, and the server listens again. */
    close(client);
    wait_for(int_nonzero, &fe.closed);
    g_assert_false(chardev_is_connected(chr));
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"gone", 4), ==, 4);

    client = unix_client(path);
    g_assert_true(int_reaches(&fe.opened, 2));
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"again", 5), ==, 5);
    client_read_exact(client, buf, 5);
    g_assert_cmpmem(buf, 5, "again", 5);
    close(client);
    g_assert_true(int_reaches(&fe.closed, 2));

    chardev_delete(chr);
    /* The socket file goes with the chardev. */
    g_assert_cmpint(stat(path, &st), ==, -1);
    fe_free(&fe);
}

static void test_socket_one_client_at_a_time(void)
{
    g_autofree char *path = tmp_path("sock1");
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    GError *err = NULL;
    TestFrontend fe;
    char buf[8];

    Chardev *chr = chardev_new_from_legacy("serial0", spec, &err);
    g_assert_no_error(err);
    fe_init(&fe, 1000);
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &fe, &err));

    int first = unix_client(path);
    g_assert_true(int_reaches(&fe.opened, 1));
    int second = unix_client(path);   /* waits in the backlog */
    g_assert_cmpint(write(second, "B", 1), ==, 1);
    run_pending();
    g_assert_cmpint(fe.opened, ==, 1);
    g_assert_cmpuint(fe.data->len, ==, 0);

    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"1", 1), ==, 1);
    client_read_exact(first, buf, 1);
    g_assert_cmpint(buf[0], ==, '1');
    g_assert_true(client_has_nothing(second));

    /* The first leaves; the second is taken and its early byte arrives. */
    close(first);
    g_assert_true(int_reaches(&fe.opened, 2));
    g_assert_cmpint(fe.closed, ==, 1);
    fe_wait_len(&fe, 1);
    g_assert_cmpint(fe.data->data[0], ==, 'B');
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"2", 1), ==, 1);
    client_read_exact(second, buf, 1);
    g_assert_cmpint(buf[0], ==, '2');

    close(second);
    chardev_delete(chr);
    fe_free(&fe);
}

static void test_socket_dead_client(void)
{
    g_autofree char *path = tmp_path("sock2");
    g_autofree char *opt = g_strdup_printf("socket,id=dead,path=%s,server=on,wait=off", path);
    GError *err = NULL;
    TestFrontend fe;
    uint8_t chunk[4096];

    Chardev *chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    fe_init(&fe, 0);   /* never reads: input stays paused */
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &fe, &err));

    /* A client that never reads: writes must come back anyway. */
    int client = unix_client(path);
    g_assert_true(int_reaches(&fe.opened, 1));
    memset(chunk, 'z', sizeof(chunk));
    for (int i = 0; i < 200; i++) {
        g_assert_cmpint(chardev_write(chr, chunk, sizeof(chunk)), ==, sizeof(chunk));
    }

    /* It sends something the frontend will not take, then dies: the
     * chardev notices (EPIPE on write, or the hang-up while paused). */
    g_assert_cmpint(write(client, "unread", 6), ==, 6);
    run_pending();
    close(client);
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(chardev_write(chr, chunk, 16), ==, 16);
    }
    g_assert_true(int_reaches(&fe.closed, 1));
    g_assert_false(chardev_is_connected(chr));

    /* And the next client gets in. This one hangs up while input is
     * paused and nothing is written: the hang-up alone must free the
     * server for the client after it. */
    client = unix_client(path);
    g_assert_true(int_reaches(&fe.opened, 2));
    g_assert_cmpint(write(client, "unread", 6), ==, 6);
    run_pending();
    close(client);
    g_assert_true(int_reaches(&fe.closed, 2));
    client = unix_client(path);
    g_assert_true(int_reaches(&fe.opened, 3));
    close(client);
    chardev_delete(chr);
    fe_free(&fe);
}

static gpointer delayed_connect(gpointer data)
{
    const char *path = data;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    gint64 deadline = g_get_monotonic_time() + WAIT_LIMIT_US;

    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    while (g_get_monotonic_time() < deadline) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            return GINT_TO_POINTER(fd);
        }
        close(fd);
        g_usleep(10000);
    }
    return GINT_TO_POINTER(-1);
}

static void test_socket_wait_on(void)
{
    g_autofree char *path = tmp_path("sock3");
    g_autofree char *opt = g_strdup_printf("socket,id=waiter,path=%s,server=on", path);
    GError *err = NULL;
    char buf[4];

    /* wait=on (the default with server=on) returns only once a client is
     * there; the client thread keeps trying until the socket exists. */
    GThread *thread = g_thread_new("client", delayed_connect, path);
    Chardev *chr = chardev_new_from_option(opt, &err);
    int client = GPOINTER_TO_INT(g_thread_join(thread));

    g_assert_no_error(err);
    g_assert_cmpint(client, >=, 0);
    g_assert_true(chardev_is_connected(chr));
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"hi", 2), ==, 2);
    client_read_exact(client, buf, 2);
    g_assert_cmpmem(buf, 2, "hi", 2);
    close(client);
    chardev_delete(chr);
}

static void test_socket_client_mode(void)
{
    g_autofree char *path = tmp_path("sock4");
    g_autofree char *opt = g_strdup_printf("socket,id=cl,path=%s", path);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    GError *err = NULL;
    char buf[4];

    /* Nobody listening: a clear error. */
    expect_error(opt, "cannot connect to");

    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert_cmpint(bind(server, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
    g_assert_cmpint(listen(server, 1), ==, 0);
    Chardev *chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    int peer = accept(server, NULL, NULL);
    g_assert_cmpint(chardev_write(chr, (const uint8_t *)"cli", 3), ==, 3);
    client_read_exact(peer, buf, 3);
    g_assert_cmpmem(buf, 3, "cli", 3);
    chardev_delete(chr);
    close(peer);
    close(server);
    unlink(path);
}

/* ---- mux ---- */

static void test_mux_escapes(void)
{
    g_autofree char *path = tmp_path("mux");
    g_autofree char *opt = g_strdup_printf("socket,id=mux0,path=%s,server=on,wait=off,mux=on",
                                           path);
    GError *err = NULL;
    TestFrontend console, monitor, extra[CHARDEV_MUX_MAX];
    char buf[512];

    Chardev *chr = chardev_new_from_option(opt, &err);
    g_assert_no_error(err);
    g_assert_true(chardev_is_mux(chr));
    fe_init(&monitor, 1000);
    fe_init(&console, 1000);
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &monitor, &err));
    g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &console, &err));
    g_assert_no_error(err);
    /* The last attached has the focus. */
    g_assert_true(int_reaches(&console.mux_in, 1));

    int client = unix_client(path);
    g_assert_true(int_reaches(&console.opened, 1));
    g_assert_true(int_reaches(&monitor.opened, 1));

    g_assert_cmpint(write(client, "ab\x01\x01z", 5), ==, 5);   /* C-a C-a = one C-a */
    fe_wait_len(&console, 4);
    g_assert_cmpmem(console.data->data, 4, "ab\x01z", 4);

    /* C-a c moves the input to the other frontend. */
    g_assert_cmpint(write(client, "\x01" "cmon", 5), ==, 5);
    fe_wait_len(&monitor, 3);
    g_assert_cmpmem(monitor.data->data, 3, "mon", 3);
    g_assert_cmpint(console.mux_out, ==, 1);
    g_assert_cmpint(monitor.mux_in, ==, 1);
    g_assert_cmpuint(console.data->len, ==, 4);

    /* C-a b: a break for the focused one; C-a h: help on the output. */
    g_assert_cmpint(write(client, "\x01" "b" "\x01" "h", 4), ==, 4);
    g_assert_true(int_reaches(&monitor.breaks, 1));
    g_assert_cmpint(console.breaks, ==, 0);
    client_read_exact(client, buf, 20);
    buf[20] = 0;
    g_assert_nonnull(strstr(buf, "C-a h"));

    /* Input the focused frontend cannot take yet waits in the mux, and
     * C-a escapes still work meanwhile. */
    g_assert_cmpint(write(client, "\x01" "c", 2), ==, 2);
    g_assert_true(int_reaches(&console.mux_in, 2));
    console.room = 0;
    g_assert_cmpint(write(client, "held\x01" "c", 6), ==, 6);
    g_assert_true(int_reaches(&monitor.mux_in, 2));
    g_assert_cmpuint(console.data->len, ==, 4);
    chardev_mux_set_focus(chr, &console);
    console.room = 100;
    chardev_accept_input(chr);
    fe_wait_len(&console, 8);
    g_assert_cmpmem(console.data->data + 4, 4, "held", 4);

    /* At most CHARDEV_MUX_MAX users. */
    for (int i = 0; i < CHARDEV_MUX_MAX - 2; i++) {
        fe_init(&extra[i], 0);
        g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &extra[i], &err));
    }
    fe_init(&extra[CHARDEV_MUX_MAX - 2], 0);
    g_assert_false(chardev_attach_frontend(chr, &test_fe_ops, &extra[CHARDEV_MUX_MAX - 2],
                                           &err));
    g_assert_nonnull(strstr(err->message, "too many"));
    g_clear_error(&err);
    for (int i = 0; i < CHARDEV_MUX_MAX - 2; i++) {
        chardev_detach_frontend_opaque(chr, &extra[i]);
    }
    for (int i = 0; i < CHARDEV_MUX_MAX - 1; i++) {
        fe_free(&extra[i]);
    }

    close(client);
    chardev_delete(chr);
    fe_free(&console);
    fe_free(&monitor);
}

/* ---- stdio ---- */

static void test_stdio_not_a_tty(void)
{
    if (g_test_subprocess()) {
        int null = open("/dev/null", O_RDONLY);
        GError *err = NULL;
        TestFrontend fe;

        dup2(null, STDIN_FILENO);
        Chardev *chr = chardev_new_from_option("stdio,id=con", &err);
        g_assert_no_error(err);
        fe_init(&fe, 100);
        g_assert_true(chardev_attach_frontend(chr, &test_fe_ops, &fe, &err));
        /* End of input must not spin or deliver anything. */
        run_pending();
        g_assert_cmpuint(fe.data->len, ==, 0);
        /* Only one chardev can own the terminal. */
        expect_error("stdio,id=con2", "stdio is already used");
        g_assert_cmpint(chardev_write(chr, (const uint8_t *)"via-stdout\n", 11), ==, 11);
        chardev_close_all();
        exit(0);
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*via-stdout\n*");
}

/* Gives the process a pseudo-terminal as stdin; returns the slave fd. */
static int pty_as_stdin(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    dup2(slave, STDIN_FILENO);
    return slave;
}

static void test_stdio_raw_mode_restored(void)
{
    int slave;
    struct termios t;
    GError *err = NULL;
    pid_t pid;
    int status;

    if (g_test_subprocess()) {
        slave = pty_as_stdin();
        g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
        g_assert_true(t.c_lflag & ICANON);
        g_assert_true(t.c_lflag & ECHO);

        Chardev *chr = chardev_new_from_option("stdio,id=tty,signal=off", &err);
        g_assert_no_error(err);
        g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
        g_assert_false(t.c_lflag & ICANON);
        g_assert_false(t.c_lflag & ECHO);
        g_assert_false(t.c_lflag & ISIG);       /* signal=off */
        g_assert_false(t.c_iflag & ICRNL);
        chardev_delete(chr);
        g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
        g_assert_true(t.c_lflag & ICANON);
        g_assert_true(t.c_lflag & ECHO);
        g_assert_true(t.c_lflag & ISIG);

        /* signal=on (the default) keeps C-c a signal. */
        chr = chardev_new_from_option("stdio,id=tty", &err);
        g_assert_no_error(err);
        g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
        g_assert_false(t.c_lflag & ICANON);
        g_assert_true(t.c_lflag & ISIG);

        /* A fatal signal restores the terminal before the process dies. */
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            raise(SIGTERM);
            _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFSIGNALED(status));
        g_assert_cmpint(WTERMSIG(status), ==, SIGTERM);
        g_assert_cmpint(tcgetattr(slave, &t), ==, 0);
        g_assert_true(t.c_lflag & ICANON);
        exit(0);
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("test-chardev-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    /* Like the emulator: the main thread holds the big lock, and the main
     * loop drops it only while polling. */
    bql_lock();
    main_loop_init();

    g_test_add_func("/chardev/option-errors", test_option_errors);
    g_test_add_func("/chardev/legacy-specs", test_legacy_specs);
    g_test_add_func("/chardev/file-exact-bytes", test_file_exact_bytes);
    g_test_add_func("/chardev/null-logfile", test_null_and_logfile);
    g_test_add_func("/chardev/frontend-rules", test_frontend_rules);
    g_test_add_func("/chardev/pipe", test_pipe_round_trip);
    g_test_add_func("/chardev/socket/round-trip", test_socket_round_trip);
    g_test_add_func("/chardev/socket/one-client", test_socket_one_client_at_a_time);
    g_test_add_func("/chardev/socket/dead-client", test_socket_dead_client);
    g_test_add_func("/chardev/socket/wait-on", test_socket_wait_on);
    g_test_add_func("/chardev/socket/client-mode", test_socket_client_mode);
    g_test_add_func("/chardev/mux", test_mux_escapes);
    g_test_add_func("/chardev/stdio/not-a-tty", test_stdio_not_a_tty);
    g_test_add_func("/chardev/stdio/raw-mode", test_stdio_raw_mode_restored);
    ret = g_test_run();

    chardev_close_all();
    bql_unlock();
    remove_tree(tmpdir);
    return ret;
}
