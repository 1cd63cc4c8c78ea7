/*-------------------------------------------------------------------------
 *
 * pprof.c
 *	  Module entry point of the pprof extension: magic block and settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/memutils.h"

#include "pprof.h"

PG_MODULE_MAGIC;

/*
 * Upper bound on the uncompressed protobuf of one profile. It is what bounds
 * a gzip bomb; superuser-only, so a client of the gateway cannot raise it.
 */
int			pprof_max_profile_bytes = 64 * 1024 * 1024;

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("pprof.max_profile_bytes",
							"Largest uncompressed pprof profile accepted as input.",
							"Bounds the memory and time spent inflating and decoding one profile.",
							&pprof_max_profile_bytes,
							64 * 1024 * 1024,
							1024,
							(int) (MaxAllocSize / 2),
							PGC_SUSET,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pprof");
}
