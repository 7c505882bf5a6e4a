/*
 * AML byte-code builder. Each node keeps the bytes of its body; a block node
 * (scope, device, method, package, buffer) also knows the opcode and header
 * that precede its PkgLength, so the whole term can be laid out once the
 * body is complete. Appending a child encodes it into the parent's body.
 */
#include "hw/acpi/aml.h"

/* Opcodes (ACPI spec, "AML Grammar Definition"). */
#define AML_ZERO_OP          0x00
#define AML_ONE_OP           0x01
#define AML_NAME_OP          0x08
#define AML_BYTE_PREFIX      0x0a
#define AML_WORD_PREFIX      0x0b
#define AML_DWORD_PREFIX     0x0c
#define AML_STRING_PREFIX    0x0d
#define AML_QWORD_PREFIX     0x0e
#define AML_SCOPE_OP         0x10
#define AML_BUFFER_OP        0x11
#define AML_PACKAGE_OP       0x12
#define AML_METHOD_OP        0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX    0x5b
#define AML_DEVICE_OP        0x82   /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR        0x5c
#define AML_PARENT_CHAR      0x5e
#define AML_RETURN_OP        0xa4

/* Resource descriptor tags ("Resource Data Types for ACPI"). */
#define RES_IRQ_NO_FLAGS     0x22   /* small, IRQ, 2 data bytes */
#define RES_IO               0x47   /* small, I/O port, 7 data bytes */
#define RES_END_TAG          0x79   /* small, end tag, 1 data byte */
#define RES_DWORD_ADDRESS    0x87
#define RES_WORD_ADDRESS     0x88
#define RES_EXT_INTERRUPT    0x89
#define RES_QWORD_ADDRESS    0x8a

#define RES_TYPE_MEMORY      0
#define RES_TYPE_IO          1
#define RES_TYPE_BUS         2
/* General flags of address space descriptors: producer, MinFixed, MaxFixed,
 * positive decode. */
#define RES_GFLAGS_PRODUCER_FIXED 0x0c

typedef enum AmlKind {
    AML_KIND_BYTES,          /* a finished term (or a list of them) */
    AML_KIND_BLOCK,          /* opcode + PkgLength + header + body */
    AML_KIND_PACKAGE,        /* PackageOp PkgLength NumElements elements */
    AML_KIND_RESOURCES,      /* Buffer of descriptors + end tag */
} AmlKind;

struct Aml {
    AmlKind kind;
    GByteArray *head;        /* opcode bytes (before PkgLength) */
    GByteArray *header;      /* bytes after PkgLength, before the body */
    GByteArray *body;
    unsigned elements;       /* children appended (packages) */
};

static Aml *aml_new(AmlKind kind)
{
    Aml *node = g_new0(Aml, 1);
    node->kind = kind;
    node->head = g_byte_array_new();
    node->header = g_byte_array_new();
    node->body = g_byte_array_new();
    return node;
}

void aml_free(Aml *node)
{
    if (node) {
        g_byte_array_unref(node->head);
        g_byte_array_unref(node->header);
        g_byte_array_unref(node->body);
        g_free(node);
    }
}

static void put_u8(GByteArray *a, uint8_t v)
{
    g_byte_array_append(a, &v, 1);
}

static void put_le(GByteArray *a, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        put_u8(a, (uint8_t)(v >> (8 * i)));
    }
}

unsigned aml_encode_pkg_length(size_t body_len, uint8_t out[4])
{
    /* The length counts the PkgLength bytes themselves. One byte holds
     * 6 bits; with n following bytes the lead byte holds 4 bits. */
    if (body_len + 1 < 0x40) {
        out[0] = (uint8_t)(body_len + 1);
        return 1;
    }
    for (unsigned extra = 1; extra <= 3; extra++) {
        uint64_t total = body_len + 1 + extra;
        if (total < (1ull << (4 + 8 * extra))) {
            out[0] = (uint8_t)((extra << 6) | (total & 0x0f));
            for (unsigned i = 0; i < extra; i++) {
                out[1 + i] = (uint8_t)(total >> (4 + 8 * i));
            }
            return 1 + extra;
        }
    }
    g_error("AML package of %zu bytes is too large", body_len);
}

static bool name_char_ok(char c, bool first)
{
    return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* NameString: prefixes, then NameSeg / DualNamePath / MultiNamePath. */
static void put_name_string(GByteArray *a, const char *name)
{
    const char *p = name;
    gchar **segs;
    guint nsegs;

    if (*p == '\\') {
        put_u8(a, AML_ROOT_CHAR);
        p++;
    } else {
        while (*p == '^') {
            put_u8(a, AML_PARENT_CHAR);
            p++;
        }
    }
    if (*p == '\0') {
        put_u8(a, 0x00);   /* NullName, e.g. "\" alone */
        return;
    }
    segs = g_strsplit(p, ".", -1);
    nsegs = g_strv_length(segs);
    g_assert(nsegs >= 1 && nsegs <= 255);
    if (nsegs == 2) {
        put_u8(a, AML_DUAL_NAME_PREFIX);
    } else if (nsegs > 2) {
        put_u8(a, AML_MULTI_NAME_PREFIX);
        put_u8(a, (uint8_t)nsegs);
    }
    for (guint i = 0; i < nsegs; i++) {
        size_t len = strlen(segs[i]);
        g_assert(len >= 1 && len <= 4);
        for (size_t j = 0; j < 4; j++) {
            char c = j < len ? segs[i][j] : '_';
            g_assert(name_char_ok(c, j == 0));
            put_u8(a, (uint8_t)c);
        }
    }
    g_strfreev(segs);
}

static Aml *aml_block(uint8_t ext_prefix, uint8_t opcode)
{
    Aml *node = aml_new(AML_KIND_BLOCK);
    if (ext_prefix) {
        put_u8(node->head, ext_prefix);
    }
    put_u8(node->head, opcode);
    return node;
}

Aml *aml_term_list(void)
{
    return aml_new(AML_KIND_BYTES);
}

Aml *aml_scope(const char *name)
{
    Aml *node = aml_block(0, AML_SCOPE_OP);
    put_name_string(node->header, name);
    return node;
}

Aml *aml_device(const char *name)
{
    Aml *node = aml_block(AML_EXT_OP_PREFIX, AML_DEVICE_OP);
    put_name_string(node->header, name);
    return node;
}

Aml *aml_method(const char *name, unsigned nargs, bool serialized)
{
    Aml *node = aml_block(0, AML_METHOD_OP);
    g_assert(nargs <= 7);
    put_name_string(node->header, name);
    /* MethodFlags: ArgCount in bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
    put_u8(node->header, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
    return node;
}

Aml *aml_package(void)
{
    Aml *node = aml_new(AML_KIND_PACKAGE);
    put_u8(node->head, AML_PACKAGE_OP);
    return node;
}

Aml *aml_resource_template(void)
{
    Aml *node = aml_new(AML_KIND_RESOURCES);
    put_u8(node->head, AML_BUFFER_OP);
    return node;
}

static void put_int(GByteArray *a, uint64_t v)
{
    if (v == 0) {
        put_u8(a, AML_ZERO_OP);
    } else if (v == 1) {
        put_u8(a, AML_ONE_OP);
    } else if (v <= 0xff) {
        put_u8(a, AML_BYTE_PREFIX);
        put_le(a, v, 1);
    } else if (v <= 0xffff) {
        put_u8(a, AML_WORD_PREFIX);
        put_le(a, v, 2);
    } else if (v <= 0xffffffffull) {
        put_u8(a, AML_DWORD_PREFIX);
        put_le(a, v, 4);
    } else {
        put_u8(a, AML_QWORD_PREFIX);
        put_le(a, v, 8);
    }
}

Aml *aml_int(uint64_t value)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_int(node->body, value);
    return node;
}

Aml *aml_string(const char *str)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_u8(node->body, AML_STRING_PREFIX);
    for (const char *p = str; *p; p++) {
        /* AsciiCharList: 0x01-0x7f. */
        g_assert((unsigned char)*p < 0x80);
        put_u8(node->body, (uint8_t)*p);
    }
    put_u8(node->body, 0x00);
    return node;
}

Aml *aml_eisaid(const char *id)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    uint32_t vendor, product;

    /* Three upper-case letters (5 bits each, 'A' = 1) then four hex digits. */
    g_assert(strlen(id) == 7);
    for (int i = 0; i < 3; i++) {
        g_assert(id[i] >= 'A' && id[i] <= 'Z');
    }
    for (int i = 3; i < 7; i++) {
        g_assert(g_ascii_isxdigit(id[i]));
    }
    vendor = ((uint32_t)(id[0] - 0x40) << 10) | ((uint32_t)(id[1] - 0x40) << 5) |
             (uint32_t)(id[2] - 0x40);
    product = (uint32_t)strtoul(id + 3, NULL, 16);
    /* Stored big-endian in the byte stream: vendor word, then product word. */
    put_u8(node->body, AML_DWORD_PREFIX);
    put_u8(node->body, (uint8_t)(vendor >> 8));
    put_u8(node->body, (uint8_t)vendor);
    put_u8(node->body, (uint8_t)(product >> 8));
    put_u8(node->body, (uint8_t)product);
    return node;
}

Aml *aml_name(const char *name)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_name_string(node->body, name);
    return node;
}

Aml *aml_name_decl(const char *name, Aml *value)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_u8(node->body, AML_NAME_OP);
    put_name_string(node->body, name);
    aml_append(node, value);
    return node;
}

Aml *aml_return(Aml *value)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_u8(node->body, AML_RETURN_OP);
    aml_append(node, value);
    return node;
}

/* ---- resource descriptors ---- */

Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t length)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    put_u8(node->body, RES_IO);
    put_u8(node->body, 0x01);   /* decodes 16 address bits */
    put_le(node->body, min, 2);
    put_le(node->body, max, 2);
    put_u8(node->body, align);
    put_u8(node->body, length);
    return node;
}

Aml *aml_irq_no_flags(unsigned irq)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    g_assert(irq < 16);
    put_u8(node->body, RES_IRQ_NO_FLAGS);
    put_le(node->body, 1u << irq, 2);
    return node;
}

Aml *aml_interrupt(bool edge, bool active_low, bool shared, const uint32_t *gsis,
                   unsigned count)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    g_assert(count >= 1 && count <= 255);
    put_u8(node->body, RES_EXT_INTERRUPT);
    put_le(node->body, 2 + 4 * count, 2);
    /* bit 0 consumer, bit 1 edge, bit 2 active low, bit 3 shared */
    put_u8(node->body, (uint8_t)(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0) |
                                 (shared ? 0x08 : 0)));
    put_u8(node->body, (uint8_t)count);
    for (unsigned i = 0; i < count; i++) {
        put_le(node->body, gsis[i], 4);
    }
    return node;
}

/* Address space descriptors share one layout; fields are `width` bytes:
 * granularity, min, max, translation offset, length. */
static Aml *address_space(uint8_t tag, unsigned width, uint8_t type, uint8_t type_flags,
                          uint64_t min, uint64_t max)
{
    Aml *node = aml_new(AML_KIND_BYTES);
    g_assert(min <= max);
    put_u8(node->body, tag);
    put_le(node->body, 3 + 5 * width, 2);
    put_u8(node->body, type);
    put_u8(node->body, RES_GFLAGS_PRODUCER_FIXED);
    put_u8(node->body, type_flags);
    put_le(node->body, 0, width);              /* granularity: fixed window */
    put_le(node->body, min, width);
    put_le(node->body, max, width);
    put_le(node->body, 0, width);              /* no translation */
    put_le(node->body, max - min + 1, width);
    return node;
}

Aml *aml_word_bus_number(uint16_t min, uint16_t max)
{
    return address_space(RES_WORD_ADDRESS, 2, RES_TYPE_BUS, 0, min, max);
}

Aml *aml_word_io(uint16_t min, uint16_t max)
{
    /* type flags: _RNG = 3, ISA and non-ISA ranges */
    return address_space(RES_WORD_ADDRESS, 2, RES_TYPE_IO, 0x03, min, max);
}

/* Memory type flags: bit 0 read-write, bits 1-2 cacheability. */
static uint8_t memory_flags(bool cacheable)
{
    return (uint8_t)(0x01 | (cacheable ? 0x02 : 0));
}

Aml *aml_dword_memory(bool cacheable, uint32_t min, uint32_t max)
{
    return address_space(RES_DWORD_ADDRESS, 4, RES_TYPE_MEMORY, memory_flags(cacheable),
                         min, max);
}

Aml *aml_qword_memory(bool cacheable, uint64_t min, uint64_t max)
{
    /* The length field is max - min + 1, which must not wrap to 0. */
    g_assert(!(min == 0 && max == UINT64_MAX));
    return address_space(RES_QWORD_ADDRESS, 8, RES_TYPE_MEMORY, memory_flags(cacheable),
                         min, max);
}

/* ---- encoding ---- */

static void put_pkg_length(GByteArray *a, size_t body_len)
{
    uint8_t buf[4];
    unsigned n = aml_encode_pkg_length(body_len, buf);
    g_byte_array_append(a, buf, n);
}

GByteArray *aml_encode(Aml *node)
{
    GByteArray *out = g_byte_array_new();

    switch (node->kind) {
    case AML_KIND_BYTES:
        g_byte_array_append(out, node->body->data, node->body->len);
        break;
    case AML_KIND_BLOCK:
        g_byte_array_append(out, node->head->data, node->head->len);
        put_pkg_length(out, node->header->len + node->body->len);
        g_byte_array_append(out, node->header->data, node->header->len);
        g_byte_array_append(out, node->body->data, node->body->len);
        break;
    case AML_KIND_PACKAGE:
        g_assert(node->elements <= 255);
        g_byte_array_append(out, node->head->data, node->head->len);
        put_pkg_length(out, 1 + node->body->len);
        put_u8(out, (uint8_t)node->elements);
        g_byte_array_append(out, node->body->data, node->body->len);
        break;
    case AML_KIND_RESOURCES: {
        /* Buffer(size) { descriptors, end tag (checksum 0: not checked) } */
        GByteArray *size = g_byte_array_new();
        put_u8(node->body, RES_END_TAG);
        put_u8(node->body, 0x00);
        put_int(size, node->body->len);
        g_byte_array_append(out, node->head->data, node->head->len);
        put_pkg_length(out, size->len + node->body->len);
        g_byte_array_append(out, size->data, size->len);
        g_byte_array_append(out, node->body->data, node->body->len);
        g_byte_array_unref(size);
        break;
    }
    }
    aml_free(node);
    return out;
}

void aml_append(Aml *parent, Aml *child)
{
    GByteArray *bytes = aml_encode(child);
    g_byte_array_append(parent->body, bytes->data, bytes->len);
    g_byte_array_unref(bytes);
    parent->elements++;
}
