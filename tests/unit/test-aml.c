/*
 * The AML builder's encodings, byte for byte against the ACPI
 * specification's grammar (hand-assembled expectations).
 */
#include "hw/acpi/aml.h"

/* Little-endian fields at any alignment (AML descriptors are packed). */
static uint32_t le32_at(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
    return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

static void assert_encoding(Aml *node, const uint8_t *expected, size_t len)
{
    GByteArray *bytes = aml_encode(node);
    g_assert_cmpmem(bytes->data, bytes->len, expected, len);
    g_byte_array_unref(bytes);
}

static void test_pkg_length(void)
{
    uint8_t buf[4];

    /* One byte while the total (including itself) is below 64. */
    g_assert_cmpuint(aml_encode_pkg_length(0, buf), ==, 1);
    g_assert_cmphex(buf[0], ==, 0x01);
    g_assert_cmpuint(aml_encode_pkg_length(62, buf), ==, 1);
    g_assert_cmphex(buf[0], ==, 0x3f);
    /* 63 body bytes + 2 = 65 = 0x41: lead 0x40 | low nibble 1, then 0x04. */
    g_assert_cmpuint(aml_encode_pkg_length(63, buf), ==, 2);
    g_assert_cmphex(buf[0], ==, 0x41);
    g_assert_cmphex(buf[1], ==, 0x04);
    /* Largest two-byte total is 0xfff. */
    g_assert_cmpuint(aml_encode_pkg_length(0xfff - 2, buf), ==, 2);
    g_assert_cmphex(buf[0], ==, 0x4f);
    g_assert_cmphex(buf[1], ==, 0xff);
    /* 0x1000 body + 3 = 0x1003: three bytes, lead 0x83, 0x00, 0x01. */
    g_assert_cmpuint(aml_encode_pkg_length(0x1000, buf), ==, 3);
    g_assert_cmphex(buf[0], ==, 0x83);
    g_assert_cmphex(buf[1], ==, 0x00);
    g_assert_cmphex(buf[2], ==, 0x01);
    g_assert_cmpuint(aml_encode_pkg_length(0x100000, buf), ==, 4);
    g_assert_cmphex(buf[0], ==, 0xc4);
}

static void test_integers(void)
{
    static const uint8_t zero[] = { 0x00 }, one[] = { 0x01 }, byte[] = { 0x0a, 0x07 };
    static const uint8_t word[] = { 0x0b, 0x34, 0x12 };
    static const uint8_t dword[] = { 0x0c, 0x78, 0x56, 0x34, 0x12 };
    static const uint8_t qword[] = { 0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };

    assert_encoding(aml_int(0), zero, sizeof(zero));
    assert_encoding(aml_int(1), one, sizeof(one));
    assert_encoding(aml_int(7), byte, sizeof(byte));
    assert_encoding(aml_int(0x1234), word, sizeof(word));
    assert_encoding(aml_int(0x12345678), dword, sizeof(dword));
    assert_encoding(aml_int(0x100000000ULL), qword, sizeof(qword));
}

static void test_strings_and_ids(void)
{
    static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    static const uint8_t str[] = { 0x0d, 'A', 'C', 'P', 'I', '0', '0', '0', '7', 0x00 };

    assert_encoding(aml_eisaid("PNP0A03"), pnp0a03, sizeof(pnp0a03));
    assert_encoding(aml_eisaid("PNP0501"), pnp0501, sizeof(pnp0501));
    assert_encoding(aml_string("ACPI0007"), str, sizeof(str));
}

static void test_names(void)
{
    static const uint8_t root_dual[] = { 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
    static const uint8_t padded[] = { 'I', 'S', 'A', '_' };
    static const uint8_t multi[] = { 0x5e, 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_',
                                     'C', '_', '_', '_' };

    assert_encoding(aml_name("\\_SB.PCI0"), root_dual, sizeof(root_dual));
    assert_encoding(aml_name("ISA"), padded, sizeof(padded));
    assert_encoding(aml_name("^A.B.C"), multi, sizeof(multi));
}

static void test_s5_package(void)
{
    /* Name(\_S5, Package() { 7, 7, 0, 0 }) */
    static const uint8_t expected[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                        0x0a, 0x07, 0x0a, 0x07, 0x00, 0x00 };
    Aml *pkg = aml_package();

    aml_append(pkg, aml_int(7));
    aml_append(pkg, aml_int(7));
    aml_append(pkg, aml_int(0));
    aml_append(pkg, aml_int(0));
    assert_encoding(aml_name_decl("\\_S5", pkg), expected, sizeof(expected));
}

static void test_device_and_method(void)
{
    /* Device(DEV) { Method(_STA, 0) { Return(0x0f) } } */
    static const uint8_t expected[] = {
        0x5b, 0x82, 0x0f, 'D', 'E', 'V', '_',
        0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
    };
    Aml *dev = aml_device("DEV");
    Aml *sta = aml_method("_STA", 0, false);

    aml_append(sta, aml_return(aml_int(0x0f)));
    aml_append(dev, sta);
    assert_encoding(dev, expected, sizeof(expected));
}

static void test_large_scope(void)
{
    /* A body over 63 bytes takes a two-byte PkgLength. */
    Aml *scope = aml_scope("\\_SB");
    GByteArray *bytes;
    size_t body = 0;

    for (int i = 0; i < 20; i++) {
        aml_append(scope, aml_name_decl("X", aml_int(0x12345678)));  /* 10 bytes each */
        body += 10;
    }
    bytes = aml_encode(scope);
    g_assert_cmphex(bytes->data[0], ==, 0x10);
    /* total = 2 (pkglen) + 1 ('\' root) + 4 (_SB_) + body */
    g_assert_cmpuint(bytes->len, ==, 1 + 2 + 5 + body);
    g_assert_cmpuint(((bytes->data[1] & 0x0f) | (bytes->data[2] << 4)), ==, 2 + 5 + body);
    g_assert_cmphex(bytes->data[1] >> 6, ==, 1);
    g_byte_array_unref(bytes);
}

static void test_resource_template(void)
{
    static const uint8_t expected[] = {
        0x11, 0x29, 0x0a, 0x26,                       /* Buffer(38) */
        0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, /* IO(Decode16, 0x60, 0x60, 1, 1) */
        0x22, 0x02, 0x00,                             /* IRQNoFlags() {1} */
        0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,           /* WordBusNumber(...) */
        0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x89, 0x06, 0x00, 0x09, 0x01, 0x09, 0x00, 0x00, 0x00, /* Interrupt(, Level, High, Shared) {9} */
        0x79, 0x00,                                   /* end tag */
    };
    Aml *rt = aml_resource_template();
    uint32_t gsi = 9;

    aml_append(rt, aml_io(0x60, 0x60, 1, 1));
    aml_append(rt, aml_irq_no_flags(1));
    aml_append(rt, aml_word_bus_number(0, 255));
    aml_append(rt, aml_interrupt(false, false, true, &gsi, 1));
    assert_encoding(rt, expected, sizeof(expected));
}

static void test_memory_descriptors(void)
{
    Aml *rt = aml_resource_template();
    GByteArray *bytes;
    const uint8_t *d;

    aml_append(rt, aml_dword_memory(false, 0x08000000, 0xfebfffff));
    aml_append(rt, aml_qword_memory(false, 0x140000000ULL, 0x93fffffffULL));
    bytes = aml_encode(rt);
    /* Buffer, 2-byte PkgLength (26 + 46 + 2 = 74 bytes of data), BytePrefix 74 */
    g_assert_cmphex(bytes->data[0], ==, 0x11);
    g_assert_cmphex(bytes->data[3], ==, 0x0a);
    g_assert_cmpuint(bytes->data[4], ==, 74);
    d = bytes->data + 5;
    g_assert_cmphex(d[0], ==, 0x87);
    g_assert_cmpuint(d[1] | (d[2] << 8), ==, 23);
    g_assert_cmphex(d[3], ==, 0);          /* memory */
    g_assert_cmphex(d[5], ==, 0x01);       /* read-write, non-cacheable */
    g_assert_cmphex(le32_at(d + 10), ==, 0x08000000);
    g_assert_cmphex(le32_at(d + 14), ==, 0xfebfffff);
    g_assert_cmphex(le32_at(d + 22), ==, 0xfebfffff - 0x08000000 + 1);
    d += 26;
    g_assert_cmphex(d[0], ==, 0x8a);
    g_assert_cmpuint(d[1] | (d[2] << 8), ==, 43);
    g_assert_cmphex(le64_at(d + 14), ==, 0x140000000ULL);
    g_assert_cmphex(le64_at(d + 22), ==, 0x93fffffffULL);
    g_assert_cmphex(le64_at(d + 38), ==, 0x800000000ULL);
    g_assert_cmphex(d[46], ==, 0x79);
    g_byte_array_unref(bytes);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/aml/pkg-length", test_pkg_length);
    g_test_add_func("/aml/integers", test_integers);
    g_test_add_func("/aml/strings-and-ids", test_strings_and_ids);
    g_test_add_func("/aml/names", test_names);
    g_test_add_func("/aml/s5-package", test_s5_package);
    g_test_add_func("/aml/device-and-method", test_device_and_method);
    g_test_add_func("/aml/large-scope", test_large_scope);
    g_test_add_func("/aml/resource-template", test_resource_template);
    g_test_add_func("/aml/memory-descriptors", test_memory_descriptors);
    return g_test_run();
}
