/*-------------------------------------------------------------------------
 *
 * encode_ref.h
 *	  protobuf-c's encoding of a layout, the reference of PprofEncodeRaw()
 *	  (encode_ref.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ENCODE_REF_H
#define ENCODE_REF_H

#include "pprof.h"

extern char *PprofEncodeRawReference(const Pprof *pprof, Size *out_len);

/*
 * abort()s with a message unless PprofEncodeRaw() gives the reference's
 * bytes for pprof (fuzz_check.c).
 */
extern void CheckEncodeMatchesReference(const Pprof *pprof);

#endif							/* ENCODE_REF_H */
