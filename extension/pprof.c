/*-------------------------------------------------------------------------
 *
 * pprof.c
 *	  Module entry point of the pprof extension: magic block and settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "postmaster/bgworker_internals.h"
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

	/*
	 * A merge's own parallel workers (pprof_merge_parallel.c): off unless
	 * the host has cores to spare (BENCHMARKS.md); below the size, starting
	 * them costs more than they save.
	 */
	DefineCustomIntVariable("pprof.max_parallel_merge_workers",
							"Sets the maximum number of parallel workers of one pprof_merge or pgo_merge over stored rows.",
							"Also limited by max_parallel_workers_per_gather. 0 merges in the backend alone.",
							&pprof_max_parallel_merge_workers,
							0,
							0,
							MAX_PARALLEL_WORKER_LIMIT,
							PGC_USERSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pprof.min_parallel_merge_size",
							"Sets the minimum amount of stored rows' data for a merge to use parallel workers.",
							"pprof_merge and pgo_merge over stored rows use one worker from this many bytes of uncompressed input on, one more each time it triples, at most pprof.max_parallel_merge_workers.",
							&pprof_min_parallel_merge_size,
							8 * 1024,
							0,
							INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pprof.retain_memory",
							"Sets how much freed memory a backend keeps for its next merge.",
							"Allocations below it come from malloc's heap, which keeps up to this much free memory instead of returning it to the kernel: a backend that merges again reuses pages instead of faulting fresh ones in. 0 leaves malloc's own thresholds.",
							&pprof_retain_memory,
							0,
							0,
							INT_MAX / 1024,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, PprofRetainMemoryAssign, NULL);

	MarkGUCPrefixReserved("pprof");
}
