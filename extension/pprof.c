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
#include "pprof_merge.h"

PG_MODULE_MAGIC;

/*
 * Upper bound on the uncompressed protobuf of one profile. It is what bounds
 * a gzip bomb; superuser-only, so a client of the gateway cannot raise it.
 */
int			pprof_max_profile_bytes = 64 * 1024 * 1024;

/* pgo_merge settings, read once per merge (see pprof_merge_state.c) */
bool		pprof_pgo_normalize = false;
int			pprof_pgo_frames = 4;
char	   *pprof_pgo_denylist = NULL;

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

	DefineCustomBoolVariable("pprof.pgo_normalize",
							 "Makes pgo_merge weigh every input profile as 60 seconds of profile.",
							 "Each input's values are scaled by 60 s / its duration, so a long profile does not drown short ones.",
							 &pprof_pgo_normalize,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	/*
	 * cmd/compile (Go 1.21-1.23) reads the two leaf-most locations of each
	 * sample; the default keeps two more as margin for future toolchains.
	 */
	DefineCustomIntVariable("pprof.pgo_frames",
							"Leaf-most locations of each stack that pgo_merge keeps.",
							"The Go compiler reads 2; more only make default.pgo larger.",
							&pprof_pgo_frames,
							4,
							2,
							64,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pprof.pgo_denylist",
							   "Comma-separated function names that pgo_merge renames so the compiler ignores them.",
							   "Renamed, not dropped, so the weights of all other call edges stay the same.",
							   &pprof_pgo_denylist,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("pprof");
}
