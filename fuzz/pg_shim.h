/*-------------------------------------------------------------------------
 *
 * pg_shim.h
 *	  What the fuzz harness uses of pg_shim.c beyond the backend's API.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_SHIM_H
#define PG_SHIM_H

extern void ShimContextStats(MemoryContext context, Size *chunks, Size *bytes);

#endif							/* PG_SHIM_H */
