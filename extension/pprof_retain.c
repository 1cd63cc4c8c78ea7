/*-------------------------------------------------------------------------
 *
 * pprof_retain.c
 *	  pprof.retain_memory: freed memory a backend keeps for its next merge.
 *
 * A merge over production-size rows allocates tens of megabytes and frees
 * them at the end of the query. glibc's malloc returns large blocks to the
 * kernel (blocks above its mmap threshold are unmapped; the heap is trimmed
 * when more than its trim threshold is free at the top), so the next merge
 * touches fresh pages: a page fault for each 4 kB. Under virtualization a
 * fault costs microseconds, and on the machine we measure on those faults
 * were almost half of pgo.profile_for over 100 rows (BENCHMARKS.md, "Page
 * faults"). With this setting the backend serves allocations below it from
 * the heap and keeps up to that much free memory there, so a backend that
 * merges again (the gateway's sessions) reuses pages it has already
 * faulted in, at the price of holding that memory between queries.
 *
 * It changes malloc for the whole backend process, which is why it is off
 * unless asked for (the gateway asks for its own sessions). mallopt()
 * cannot give malloc back its dynamic thresholds: setting it back to 0
 * restores glibc's initial values (128 kB), fixed. Without glibc it does
 * nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "pprof_merge.h"

/* kB; 0 = malloc's own behavior */
int			pprof_retain_memory = 0;

#ifdef M_TRIM_THRESHOLD
/* the largest mmap threshold glibc accepts: HEAP_MAX_SIZE / 2 */
#define MAX_MMAP_THRESHOLD		((Size) 4 * 1024 * 1024 * sizeof(long))
/* glibc's initial M_MMAP_THRESHOLD and M_TRIM_THRESHOLD */
#define GLIBC_INITIAL_THRESHOLD	(128 * 1024)
#endif

/* GUC assign hook of pprof.retain_memory: sets malloc's thresholds. */
void
PprofRetainMemoryAssign(int newval, void *extra)
{
#ifdef M_TRIM_THRESHOLD
	static int	applied = 0;
	Size		bytes = (Size) newval * 1024;

	/* at load with the default, malloc keeps its dynamic thresholds */
	if (newval == applied)
		return;
	if (newval == 0)
	{
		mallopt(M_MMAP_THRESHOLD, GLIBC_INITIAL_THRESHOLD);
		mallopt(M_TRIM_THRESHOLD, GLIBC_INITIAL_THRESHOLD);
	}
	else
	{
		mallopt(M_MMAP_THRESHOLD, (int) Min(bytes, MAX_MMAP_THRESHOLD));
		mallopt(M_TRIM_THRESHOLD, (int) bytes);
	}
	applied = newval;
#endif
}
