/*
 * wire.h
 *	  Writing protobuf wire format by hand (wire.c), for the programs that
 *	  make profiles: the seed maker (make_seeds.c) and the merge target
 *	  (merge_fuzz.c). Plain C, no PostgreSQL.
 */
#ifndef FUZZ_WIRE_H
#define FUZZ_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* a growable byte buffer; zero-initialize it */
typedef struct Buf
{
	uint8_t    *data;
	size_t		len;
	size_t		cap;
} Buf;

extern void wire_put(Buf *b, const void *p, size_t n);
extern void wire_varint(Buf *b, uint64_t v);
extern void wire_tag(Buf *b, uint32_t field, int wt);
/* field = varint */
extern void wire_field_varint(Buf *b, uint32_t field, uint64_t v);
/* field = length-delimited body */
extern void wire_field_bytes(Buf *b, uint32_t field, const void *p, size_t n);
/* field = the message in msg, which is emptied for the next one */
extern void wire_field_msg(Buf *b, uint32_t field, Buf *msg);
extern void wire_field_string(Buf *b, uint32_t field, const char *s);

#endif							/* FUZZ_WIRE_H */
