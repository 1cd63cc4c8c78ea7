/*-------------------------------------------------------------------------
 *
 * pg_shim.h
 *	  What the fuzz harness uses of pg_shim.c beyond the backend's API.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_SHIM_H
#define PG_SHIM_H

#include <setjmp.h>

extern void ShimContextStats(MemoryContext context, Size *chunks, Size *bytes);
extern void ShimCatchErrors(sigjmp_buf *jump);
extern int	ShimCaughtError(const char **message, const char **detail, const char **where);
extern void ShimRunInput(void (*run) (const uint8 *data, Size size),
						 const uint8 *data, Size size);

#endif							/* PG_SHIM_H */
