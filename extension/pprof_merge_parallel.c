/*-------------------------------------------------------------------------
 *
 * pprof_merge_parallel.c
 *	  Merging the stored rows of an aggregate in parallel workers.
 *
 * A merge over catalog rows spends nearly all its time adding rows, one
 * after the other, in one backend; `go tool pprof -proto` parses its files
 * on every core. A parallel plan would split the rows by heap page (a tag's
 * rows of one upload batch share a few pages, so one process gets most of
 * them) and only where the planner chooses one. So the aggregates split the
 * work themselves, as a parallel index build does: the transition function
 * keeps a stored row's TOAST pointer instead of reading the row
 * (MergeStateDefer); the final function (MergeStateFlush) starts parallel
 * workers, which with the leader take the rows one at a time from a shared
 * counter, each into its own state; each worker sends its state, serialized,
 * back through a message queue, and the leader adds them to its own. The
 * bytes do not depend on which process merged which row: adding a
 * serialized state is the combine of a parallel plan (docs/DESIGN.md
 * section 6).
 *
 * Only TOAST pointers are kept (a few bytes a row; the worker reads the
 * value under the leader's snapshot): a value computed in the query (a
 * filtered profile), or one small enough to be stored inline, is added at
 * once, as before.
 *
 * Only when pprof.max_parallel_merge_workers allows workers (default 0):
 * otherwise nothing is kept and every row is added at once. Where we
 * measure (BENCHMARKS.md, "A merge's own parallel workers"), two processes
 * get 1.2-1.5 times one's throughput and a worker takes 20-30 ms to
 * start, so no merge was faster with one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "port/atomics.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "pprof_merge_state.h"

/* pprof.max_parallel_merge_workers, pprof.min_parallel_merge_size (kB) */
int			pprof_max_parallel_merge_workers = 0;
int			pprof_min_parallel_merge_size = 8 * 1024;

/* keys of the parallel merge's table of contents */
#define MERGE_KEY_SHARED	UINT64CONST(0x7070726F66000001)
#define MERGE_KEY_QUEUES	UINT64CONST(0x7070726F66000002)

/* bytes of each worker's queue for its serialized state */
#define MERGE_QUEUE_SIZE	(256 * 1024)

/*
 * Rows are merged at the latest when this many are waiting, so a merge of
 * millions of rows keeps a bounded list.
 */
#define MERGE_DEFER_MAX		8192

/* A stored row waiting to be merged: its TOAST pointer and its weight. */
typedef struct DeferredInput
{
	double		weight;
	char		pointer[TOAST_POINTER_SIZE];
} DeferredInput;

struct MergeDeferred
{
	Oid			shared_toast;	/* a TOAST table workers can read, checked last */
	uint32		n;
	uint32		cap;
	uint64		raw_bytes;		/* of the values, uncompressed */
	DeferredInput *inputs;
};

/*
 * What the leader shares with its workers: the settings of its state (so
 * that every process merges alike whatever the settings are by the time
 * the workers start) and the rows.
 */
typedef struct MergeShared
{
	pg_atomic_uint32 next;		/* the next input to take */
	uint32		n_inputs;
	MergeMode	mode;
	int			pgo_frames;
	bool		pgo_normalize;
	uint32		denylist_offset;	/* of pprof.pgo_denylist's text, from the start */
	DeferredInput inputs[FLEXIBLE_ARRAY_MEMBER];
} MergeShared;

static bool MergeWorkersAllowed(void);
static bool WorkersCanRead(MergeDeferred *d, const struct varlena *ptr);
static int	MergeWorkers(const MergeDeferred *d);
static void MergeInParallel(MergeState *s, MergeDeferred *d, int nworkers);
static void AddSharedInputs(MergeState *s, MergeShared *shared);
static Size SharedSize(uint32 n_inputs, Size denylist_len);
static void ShareInputs(MergeShared *shared, const MergeState *s, const MergeDeferred *d);
static char *StateDenylist(const MergeState *s);

/*
 * Keep value (an argument of the transition function) to be merged later,
 * if it is a stored row that can be read later and parallel workers may
 * merge it; false: add it now.
 */
bool
MergeStateDefer(MergeState *s, Datum value, double weight)
{
	struct varlena *ptr = (struct varlena *) DatumGetPointer(value);
	MergeDeferred *d = s->deferred;

	if (!VARATT_IS_EXTERNAL_ONDISK(ptr) || VARSIZE_EXTERNAL(ptr) != TOAST_POINTER_SIZE ||
		!MergeWorkersAllowed() || !WorkersCanRead(d, ptr))
		return false;

	if (d == NULL)
	{
		varatt_external toast;

		d = MemoryContextAllocZero(s->cxt, sizeof(MergeDeferred));
		VARATT_EXTERNAL_GET_POINTER(toast, ptr);
		d->shared_toast = toast.va_toastrelid;
		d->cap = 64;
		d->inputs = MemoryContextAlloc(s->cxt, sizeof(DeferredInput) * d->cap);
		s->deferred = d;
	}
	if (d->n == d->cap)
	{
		d->cap *= 2;
		d->inputs = repalloc(d->inputs, sizeof(DeferredInput) * d->cap);
	}
	d->inputs[d->n].weight = weight;
	memcpy(d->inputs[d->n].pointer, ptr, TOAST_POINTER_SIZE);
	d->n++;
	d->raw_bytes += toast_raw_datum_size(value);

	if (d->n >= MERGE_DEFER_MAX)
		MergeStateFlush(s);
	return true;
}

/*
 * Whether this merge may start workers: the settings allow some, and it is
 * not in a parallel worker or a parallel plan (a partial aggregate is
 * itself one process's share), nor in a single-user backend.
 */
static bool
MergeWorkersAllowed(void)
{
	return pprof_max_parallel_merge_workers > 0 && max_parallel_workers_per_gather > 0 &&
		!IsInParallelMode() && IsUnderPostmaster;
}

/*
 * Whether a parallel worker can read the value ptr points to: not one of a
 * temporary table, which lives in this backend's own buffers.
 */
static bool
WorkersCanRead(MergeDeferred *d, const struct varlena *ptr)
{
	varatt_external toast;

	VARATT_EXTERNAL_GET_POINTER(toast, ptr);
	if (d != NULL && toast.va_toastrelid == d->shared_toast)
		return true;
	if (get_rel_persistence(toast.va_toastrelid) == RELPERSISTENCE_TEMP)
		return false;
	if (d != NULL)
		d->shared_toast = toast.va_toastrelid;
	return true;
}

/*
 * Merge the rows kept by MergeStateDefer: in parallel workers if they are
 * worth starting, else here.
 */
void
MergeStateFlush(MergeState *s)
{
	MergeDeferred *d = s->deferred;
	int			nworkers;

	if (d == NULL || d->n == 0)
		return;
	nworkers = MergeWorkers(d);
	if (nworkers > 0)
		MergeInParallel(s, d, nworkers);
	else
	{
		MergeShared *shared = palloc(SharedSize(d->n, 0));

		ShareInputs(shared, s, d);
		AddSharedInputs(s, shared);
		pfree(shared);
	}
	d->n = 0;
	d->raw_bytes = 0;
}

/*
 * Workers for a merge of d: as the planner sizes a parallel scan, one
 * at pprof.min_parallel_merge_size of input, one more each time it
 * triples, at most pprof.max_parallel_merge_workers and
 * max_parallel_workers_per_gather, fewer than the rows.
 */
static int
MergeWorkers(const MergeDeferred *d)
{
	uint64		threshold = (uint64) pprof_min_parallel_merge_size * 1024;
	int			nworkers = 1;

	int			max_workers = Min(pprof_max_parallel_merge_workers, max_parallel_workers_per_gather);

	if (d->n < 2 || d->raw_bytes < threshold || !MergeWorkersAllowed())
		return 0;
	threshold = Max(threshold, 1);
	while (d->raw_bytes >= threshold * 3 && nworkers < max_workers)
	{
		nworkers++;
		threshold *= 3;
	}
	return Min(nworkers, (int) d->n - 1);
}

/* Bytes of a MergeShared of n_inputs rows and a denylist of len bytes. */
static Size
SharedSize(uint32 n_inputs, Size denylist_len)
{
	return add_size(add_size(offsetof(MergeShared, inputs),
							 mul_size(sizeof(DeferredInput), n_inputs)),
					denylist_len + 1);
}

static void
ShareInputs(MergeShared *shared, const MergeState *s, const MergeDeferred *d)
{
	pg_atomic_init_u32(&shared->next, 0);
	shared->n_inputs = d->n;
	shared->mode = s->mode;
	shared->pgo_frames = s->pgo_frames;
	shared->pgo_normalize = s->pgo_normalize;
	shared->denylist_offset = 0;
	memcpy(shared->inputs, d->inputs, sizeof(DeferredInput) * d->n);
}

/*
 * Take rows from the shared counter until none is left, adding each to s.
 * The leader and every worker run this; a row's value is read (and freed)
 * one at a time.
 */
static void
AddSharedInputs(MergeState *s, MergeShared *shared)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "pprof merge row",
											  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint32		i = pg_atomic_fetch_add_u32(&shared->next, 1);
		MemoryContext old;
		Pprof	   *p;

		if (i >= shared->n_inputs)
			break;
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(tmp);
		p = DatumGetPprofP(PointerGetDatum(shared->inputs[i].pointer));
		MemoryContextSwitchTo(s->cxt);
		MergeStateAdd(s, p, shared->inputs[i].weight);
		MemoryContextSwitchTo(old);
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
}

static void
MergeInParallel(MergeState *s, MergeDeferred *d, int nworkers)
{
	char	   *denylist = StateDenylist(s);
	Size		denylist_len = strlen(denylist);
	Size		shared_size = SharedSize(d->n, denylist_len);
	ParallelContext *pcxt;
	MergeShared *shared;
	char	   *queues;
	shm_mq_handle **handles;
	MemoryContext old;
	int			i;

	EnterParallelMode();
	pcxt = CreateParallelContext("pprof", "pprof_merge_parallel_main", nworkers);
	shm_toc_estimate_chunk(&pcxt->estimator, shared_size);
	shm_toc_estimate_chunk(&pcxt->estimator, mul_size(MERGE_QUEUE_SIZE, nworkers));
	shm_toc_estimate_keys(&pcxt->estimator, 2);
	InitializeParallelDSM(pcxt);

	shared = shm_toc_allocate(pcxt->toc, shared_size);
	ShareInputs(shared, s, d);
	shared->denylist_offset = shared_size - (denylist_len + 1);
	memcpy((char *) shared + shared->denylist_offset, denylist, denylist_len + 1);
	shm_toc_insert(pcxt->toc, MERGE_KEY_SHARED, shared);

	/* a queue per worker, which the leader reads */
	queues = shm_toc_allocate(pcxt->toc, mul_size(MERGE_QUEUE_SIZE, nworkers));
	shm_toc_insert(pcxt->toc, MERGE_KEY_QUEUES, queues);
	handles = palloc(sizeof(shm_mq_handle *) * nworkers);
	for (i = 0; i < nworkers; i++)
	{
		shm_mq	   *mq = shm_mq_create(queues + (Size) i * MERGE_QUEUE_SIZE, MERGE_QUEUE_SIZE);

		shm_mq_set_receiver(mq, MyProc);
		handles[i] = shm_mq_attach(mq, pcxt->seg, NULL);
	}

	LaunchParallelWorkers(pcxt);
	for (i = 0; i < pcxt->nworkers_launched; i++)
		shm_mq_set_handle(handles[i], pcxt->worker[i].bgwhandle);
	ereport(DEBUG1,
			(errmsg_internal("merging %u rows in %d parallel workers (%d planned)",
							 d->n, pcxt->nworkers_launched, nworkers)));

	/* the leader takes its share, all of it if no worker started */
	if (parallel_leader_participation || pcxt->nworkers_launched == 0)
		AddSharedInputs(s, shared);

	for (i = 0; i < pcxt->nworkers_launched; i++)
	{
		Size		len;
		void	   *data;

		if (shm_mq_receive(handles[i], &len, &data, false) != SHM_MQ_SUCCESS)
		{
			/* the worker's own error, if it reported one */
			WaitForParallelWorkersToFinish(pcxt);
			elog(ERROR, "parallel merge worker %d ended without sending its state", i);
		}
		old = MemoryContextSwitchTo(s->cxt);
		MergeStateAddSerialized(s, data, len);
		MemoryContextSwitchTo(old);
	}
	WaitForParallelWorkersToFinish(pcxt);
	/* rows no worker took, if workers started late or failed to start */
	AddSharedInputs(s, shared);

	DestroyParallelContext(pcxt);
	ExitParallelMode();
	pfree(handles);
	pfree(denylist);
}

/*
 * pprof.pgo_denylist as it was when s was created (its names, interned):
 * what the workers' states must deny.
 */
static char *
StateDenylist(const MergeState *s)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < s->n_deny; i++)
	{
		uint32		len;
		const char *name = InternerKey(&s->strings, s->deny[i], &len);

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendBinaryStringInfo(&buf, name, len);
	}
	return buf.data;
}

/*
 * A parallel worker's part: a state with the leader's settings, the rows
 * it takes, and the state serialized back to the leader.
 */
PGDLLEXPORT void pprof_merge_parallel_main(dsm_segment *seg, shm_toc *toc);

void
pprof_merge_parallel_main(dsm_segment *seg, shm_toc *toc)
{
	MergeShared *shared = shm_toc_lookup(toc, MERGE_KEY_SHARED, false);
	char	   *queues = shm_toc_lookup(toc, MERGE_KEY_QUEUES, false);
	shm_mq	   *mq = (shm_mq *) (queues + (Size) ParallelWorkerNumber * MERGE_QUEUE_SIZE);
	shm_mq_handle *handle;
	MemoryContext cxt;
	MergeState *s;
	bytea	   *bytes;
	int			frames = pprof_pgo_frames;
	bool		normalize = pprof_pgo_normalize;
	char	   *denylist = pprof_pgo_denylist;

	shm_mq_set_sender(mq, MyProc);
	handle = shm_mq_attach(mq, seg, NULL);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "pprof parallel merge",
								ALLOCSET_DEFAULT_SIZES);
	/*
	 * The state reads its settings when it is created: the leader's state's,
	 * not the settings restored from the leader, which may have changed
	 * since the first row
	 */
	pprof_pgo_frames = shared->pgo_frames;
	pprof_pgo_normalize = shared->pgo_normalize;
	pprof_pgo_denylist = (char *) shared + shared->denylist_offset;
	s = MergeStateCreate(shared->mode, cxt);
	pprof_pgo_frames = frames;
	pprof_pgo_normalize = normalize;
	pprof_pgo_denylist = denylist;

	AddSharedInputs(s, shared);
	bytes = MergeStateSerialize(s);
	shm_mq_send(handle, VARSIZE(bytes) - VARHDRSZ, VARDATA(bytes), false, true);
	shm_mq_detach(handle);
	MemoryContextDelete(cxt);
}
