/*
 * A small builder for ACPI Machine Language (AML) byte code, the contents of
 * the DSDT. Terms are built bottom-up: create a node, append children to it,
 * then append it to its parent (which takes ownership and encodes it).
 * Encodings follow the ACPI specification, chapter "ACPI Machine Language
 * (AML) Specification", and "Resource Data Types for ACPI".
 *
 * Names are written as in ASL: "PCI0", "_SB.PCI0", "\\_SB", "^ISA"; each
 * segment has 1-4 characters from [A-Z0-9_] (not starting with a digit) and
 * is padded with '_'. Names come from code, not from the guest, so a bad
 * name is a programming error (assertion).
 */
#ifndef HW_ACPI_AML_H
#define HW_ACPI_AML_H

#include "kestrel/osdep.h"

typedef struct Aml Aml;

/* A plain list of terms (e.g. the body of a definition block). */
Aml *aml_term_list(void);
/* Scope(name) { ... } */
Aml *aml_scope(const char *name);
/* Device(name) { ... } */
Aml *aml_device(const char *name);
/* Method(name, nargs, Serialized|NotSerialized) { ... }; nargs <= 7. */
Aml *aml_method(const char *name, unsigned nargs, bool serialized);
/* Package() { ... }: the element count follows the appended children (<= 255). */
Aml *aml_package(void);
/* ResourceTemplate() { ... }: append descriptors; the end tag is added when
 * the template is encoded. */
Aml *aml_resource_template(void);

/* Name(name, value) */
Aml *aml_name_decl(const char *name, Aml *value);
/* A reference to a named object (e.g. as a Return argument). */
Aml *aml_name(const char *name);
/* Integer constant, in the shortest encoding (Zero, One, Byte..QWord). */
Aml *aml_int(uint64_t value);
/* String constant (printable ASCII, no NUL). */
Aml *aml_string(const char *str);
/* EisaId("PNP0A03"): the compressed 32-bit EISA id, as a DWord integer. */
Aml *aml_eisaid(const char *id);
/* Return(value) */
Aml *aml_return(Aml *value);

/* ---- resource descriptors (children of aml_resource_template) ---- */

/* IO(Decode16, min, max, align, length) */
Aml *aml_io(uint16_t min, uint16_t max, uint8_t align, uint8_t length);
/* IRQNoFlags() { irq } (ISA, edge, active high); irq < 16 */
Aml *aml_irq_no_flags(unsigned irq);
/* Interrupt(ResourceConsumer, Level|Edge, ActiveHigh|ActiveLow,
 * Exclusive|Shared) { gsis... } */
Aml *aml_interrupt(bool edge, bool active_low, bool shared, const uint32_t *gsis,
                   unsigned count);
/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, min, max, 0, len) */
Aml *aml_word_bus_number(uint16_t min, uint16_t max);
/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, min, max, 0, len) */
Aml *aml_word_io(uint16_t min, uint16_t max);
/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed,
 * Cacheable|NonCacheable, ReadWrite, 0, min, max, 0, len) */
Aml *aml_dword_memory(bool cacheable, uint32_t min, uint32_t max);
/* QWordMemory(...), as aml_dword_memory with 64-bit bounds. */
Aml *aml_qword_memory(bool cacheable, uint64_t min, uint64_t max);

/* Appends child (encoded) to parent and frees child. */
void aml_append(Aml *parent, Aml *child);
/* The complete encoding of node; frees node. */
GByteArray *aml_encode(Aml *node);
void aml_free(Aml *node);

/* Encodes a PkgLength for a package whose contents (after the PkgLength)
 * take body_len bytes; returns the number of bytes written to out (1-4).
 * Internal, exposed for unit tests. */
unsigned aml_encode_pkg_length(size_t body_len, uint8_t out[4]);

#endif
