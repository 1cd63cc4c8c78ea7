/*
 * wire.c
 *	  Protobuf wire format written by hand (wire.h): varints, tags and
 *	  length-delimited fields, into a growable buffer. The seed maker also
 *	  writes forms protobuf-c never does (unpacked repeated fields, unknown
 *	  fields), which is why this is not protobuf-c.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append n bytes (doubling the buffer as needed). */
void
wire_put(Buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;					/* p may be NULL: an empty message */
	if (b->len + n > b->cap)
	{
		b->cap = (b->len + n) * 2 + 64;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
		{
			fprintf(stderr, "wire: out of memory\n");
			abort();
		}
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

/* A base-128 varint. */
void
wire_varint(Buf *b, uint64_t v)
{
	uint8_t		c;

	do
	{
		c = v & 0x7f;
		v >>= 7;
		if (v)
			c |= 0x80;
		wire_put(b, &c, 1);
	} while (v);
}

/* A field's tag: its number and wire type. */
void
wire_tag(Buf *b, uint32_t field, int wt)
{
	wire_varint(b, ((uint64_t) field << 3) | wt);
}

/* field = varint */
void
wire_field_varint(Buf *b, uint32_t field, uint64_t v)
{
	wire_tag(b, field, 0);
	wire_varint(b, v);
}

/* field = length-delimited body */
void
wire_field_bytes(Buf *b, uint32_t field, const void *p, size_t n)
{
	wire_tag(b, field, 2);
	wire_varint(b, n);
	wire_put(b, p, n);
}

/* field = the message in msg, which is emptied for the next one */
void
wire_field_msg(Buf *b, uint32_t field, Buf *msg)
{
	wire_field_bytes(b, field, msg->data, msg->len);
	msg->len = 0;
}

/* field = a string */
void
wire_field_string(Buf *b, uint32_t field, const char *s)
{
	wire_field_bytes(b, field, s, strlen(s));
}
