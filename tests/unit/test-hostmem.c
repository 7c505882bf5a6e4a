/*
 * Host memory backends (-object memory-backend-*): option checking and the
 * memory each kind really provides (private, memfd shared/private, files).
 */
#include "kestrel/osdep.h"
#include "kestrel/keyval.h"
#include "sysemu/hostmem.h"

#include <sys/stat.h>
#include <unistd.h>

/* Parses "qom-type=...,id=...,..." the way -object does. */
static HostMemoryBackend *create(const char *options, GError **errp)
{
    g_autoptr(GHashTable) opts = keyval_parse(options, "qom-type", errp);
    if (!opts) {
        return NULL;
    }
    return host_memory_backend_create(opts, errp);
}

static void test_ram_backend(void)
{
    GError *err = NULL;
    HostMemoryBackend *b = create("memory-backend-ram,id=ram0,size=4M", &err);
    g_assert_no_error(err);
    g_assert_nonnull(b);
    g_assert_cmpstr(b->type, ==, "memory-backend-ram");
    g_assert_cmpuint(b->size, ==, 4 << 20);
    g_assert_false(b->share);
    g_assert_true(host_memory_backend_find("ram0") == b);
    g_assert_null(host_memory_backend_find("nothing"));
    /* The block is named after the backend, and the region covers it. */
    g_assert_true(ram_block_by_id("ram0") == b->mr.ram_block);
    g_assert_true(memory_region_is_ram(&b->mr));
    g_assert_cmpuint(b->mr.size, ==, 4 << 20);
    g_assert_cmpint(b->mr.ram_block->backing, ==, RAM_BACKING_ANON);
    ((uint8_t *)memory_region_get_ram_ptr(&b->mr))[(4 << 20) - 1] = 0xaa;

    /* The same id twice is refused. */
    g_assert_null(create("memory-backend-ram,id=ram0,size=4M", &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "ram0"));
    g_clear_error(&err);
}

static void test_memfd_share(void)
{
    GError *err = NULL;
    HostMemoryBackend *shared, *private_;
    uint8_t byte = 0;

    /* memfd is shared by default: writes reach the file (other processes). */
    shared = create("memory-backend-memfd,id=memfd0,size=1M", &err);
    g_assert_no_error(err);
    g_assert_true(shared->share);
    g_assert_cmpint(shared->mr.ram_block->backing, ==, RAM_BACKING_MEMFD);
    g_assert_cmpint(shared->mr.ram_block->fd, >=, 0);
    shared->mr.ram_block->host[0x1234] = 0x5c;
    g_assert_cmpint(pread(shared->mr.ram_block->fd, &byte, 1, 0x1234), ==, 1);
    g_assert_cmphex(byte, ==, 0x5c);

    /* share=off: a private copy, the file does not change. */
    private_ = create("memory-backend-memfd,id=memfd1,size=1M,share=off", &err);
    g_assert_no_error(err);
    g_assert_false(private_->share);
    private_->mr.ram_block->host[0x1234] = 0x5c;
    g_assert_cmpint(pread(private_->mr.ram_block->fd, &byte, 1, 0x1234), ==, 1);
    g_assert_cmphex(byte, ==, 0);
}

static void test_file_backend(void)
{
    GError *err = NULL;
    g_autofree char *dir = g_dir_make_tmp("kestrel-hostmem-XXXXXX", &err);
    g_autofree char *file = NULL;
    g_autofree char *opts = NULL;
    HostMemoryBackend *b;
    GDir *listing;
    struct stat st;
    uint8_t byte = 0;
    FILE *f;

    g_assert_no_error(err);
    /* A directory: an unlinked temporary file inside it. */
    opts = g_strdup_printf("memory-backend-file,id=file0,size=64K,mem-path=%s,prealloc=on",
                           dir);
    b = create(opts, &err);
    g_assert_no_error(err);
    g_assert_cmpint(b->mr.ram_block->backing, ==, RAM_BACKING_FILE);
    g_assert_true(b->prealloc);
    listing = g_dir_open(dir, 0, NULL);
    g_assert_null(g_dir_read_name(listing));
    g_dir_close(listing);
    b->mr.ram_block->host[100] = 1;

    /* A file path: that file, created at the right size, shared on request. */
    file = g_build_filename(dir, "guest-ram", NULL);
    g_free(opts);
    opts = g_strdup_printf("memory-backend-file,id=file1,size=128K,mem-path=%s,share=on", file);
    b = create(opts, &err);
    g_assert_no_error(err);
    g_assert_cmpint(stat(file, &st), ==, 0);
    g_assert_cmpint(st.st_size, ==, 128 << 10);
    b->mr.ram_block->host[0x10001] = 0x42;
    f = fopen(file, "rb");
    g_assert_nonnull(f);
    g_assert_cmpint(fseek(f, 0x10001, SEEK_SET), ==, 0);
    g_assert_cmpint(fread(&byte, 1, 1, f), ==, 1);
    fclose(f);
    g_assert_cmphex(byte, ==, 0x42);
    unlink(file);
    rmdir(dir);
}

/* Each bad option string and a word its error message must contain. */
static const struct {
    const char *options;
    const char *message_part;
} bad_options[] = {
    { "memory-backend-ram,id=bad0,size=1M,colour=blue", "colour" },
    { "memory-backend-ram,id=bad1,size=1M,mem-path=/tmp", "mem-path" },
    { "memory-backend-ram,id=bad2", "size" },
    { "memory-backend-ram,id=bad3,size=0", "size 0" },
    { "memory-backend-ram,id=bad4,size=12Q", "12Q" },
    { "memory-backend-ram,id=bad5,size=1M,share=maybe", "maybe" },
    { "memory-backend-ram,size=1M", "id" },
    { "memory-backend-ram,id=9lives,size=1M", "id" },
    { "memory-backend-floppy,id=bad6,size=1M", "memory-backend-floppy" },
    { "memory-backend-file,id=bad7,size=1M", "mem-path" },
    { "memory-backend-file,id=bad8,size=1M,mem-path=/nonexistent/dir/file", "nonexistent" },
    { "memory-backend-ram,id=bad9,size=1M,merge=perhaps", "perhaps" },
    /* Far more than any host has: a clean error, not a crash. */
    { "memory-backend-ram,id=huge,size=100T", "huge" },
    { "memory-backend-ram,id=huge2,size=16E", "size" },
};

static void test_bad_options(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(bad_options); i++) {
        GError *err = NULL;
        g_test_message("%s", bad_options[i].options);
        g_assert_null(create(bad_options[i].options, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad_options[i].message_part)) {
            g_error("'%s': error '%s' does not mention '%s'", bad_options[i].options,
                    err->message, bad_options[i].message_part);
        }
        g_clear_error(&err);
    }
    /* None of them left a block or backend behind. */
    g_assert_null(ram_block_by_id("huge"));
    g_assert_null(host_memory_backend_find("bad0"));
    g_assert_null(host_memory_backend_find("huge"));
}

static void test_compat_options(void)
{
    GError *err = NULL;
    HostMemoryBackend *b = create("memory-backend-ram,id=compat,size=2M,merge=off,dump=on,"
                                  "x-use-canonical-path-for-ramblock-id=off,prealloc=off",
                                  &err);
    g_assert_no_error(err);
    g_assert_nonnull(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hostmem/ram", test_ram_backend);
    g_test_add_func("/hostmem/memfd-share", test_memfd_share);
    g_test_add_func("/hostmem/file", test_file_backend);
    g_test_add_func("/hostmem/bad-options", test_bad_options);
    g_test_add_func("/hostmem/compat-options", test_compat_options);
    return g_test_run();
}
