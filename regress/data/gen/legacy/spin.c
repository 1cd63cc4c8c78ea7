/*
 * spin.c: a program to profile with gperftools' CPU profiler, for the
 * legacy binary CPU profile of regress/data/wrong/ (see gen.sh): it spins
 * for about half a second in two functions.
 */
#include <stdio.h>
#include <time.h>

static volatile unsigned long sink;

static void
spin_a(void)
{
	for (unsigned long i = 0; i < 1000; i++)
		sink += i * i;
}

static void
spin_b(void)
{
	for (unsigned long i = 0; i < 3000; i++)
		sink ^= i;
}

int
main(void)
{
	clock_t end = clock() + CLOCKS_PER_SEC / 2;

	while (clock() < end)
	{
		spin_a();
		spin_b();
	}
	printf("%lu\n", sink);
	return 0;
}
