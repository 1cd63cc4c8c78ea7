/*-------------------------------------------------------------------------
 *
 * pprof_pgcompat.h
 *	  Differences between the PostgreSQL majors the extension builds for
 *	  (15 to 18), in one place: every other file uses the spelling of the
 *	  newest major and includes this header (through pprof.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PPROF_PGCOMPAT_H
#define PPROF_PGCOMPAT_H

#include "pg_config.h"

/*
 * 18 replaced the trailing pg_attribute_noreturn() by the leading
 * pg_noreturn (C11 _Noreturn). GCC and Clang accept the attribute before
 * the declaration too, so older majors get pg_noreturn as that attribute.
 */
#if PG_VERSION_NUM < 180000
#define pg_noreturn pg_attribute_noreturn()
#endif

/* 16 moved the varlena macros (VARSIZE, VARDATA, ...) out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#endif							/* PPROF_PGCOMPAT_H */
