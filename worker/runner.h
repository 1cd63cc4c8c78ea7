/*
 * runner.h
 *	  The runner threads: claim due jobs, run them, record the outcome.
 */
#ifndef PGWK_RUNNER_H
#define PGWK_RUNNER_H

#include <stdbool.h>

/* start wcfg.concurrency runner threads; false on failure */
extern bool runner_start(void);
/* wake idle runners (worker_stopping was set) */
extern void runner_wake(void);
/* runners still alive */
extern int	runner_alive(void);
/* wait for every runner to exit */
extern void runner_join(void);

#endif							/* PGWK_RUNNER_H */
