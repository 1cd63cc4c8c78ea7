/*
 * fuzz_check.h
 *	  The check of the gateway fuzz targets (fuzz_check.c): a broken
 *	  invariant abort()s with a message, which libFuzzer records as a crash
 *	  and the corpus check reports with the input's name.
 */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

extern const char *fuzz_target_name;
extern void fuzz_fatal(const char *fmt,...)
			__attribute__((format(printf, 1, 2), noreturn));

#define CHECK(cond, ...) \
	do { if (!(cond)) fuzz_fatal(__VA_ARGS__); } while (0)

#endif							/* FUZZ_CHECK_H */
