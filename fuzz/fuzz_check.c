/*
 * fuzz_check.c
 *	  How a gateway fuzz target reports a broken invariant (fuzz_check.h).
 */
#include "fuzz_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Report a disagreement and crash, so libFuzzer keeps the input. */
void
fuzz_fatal(const char *fmt,...)
{
	va_list		args;

	fprintf(stderr, "%s: ", fuzz_target_name);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n");
	abort();
}
