/*-------------------------------------------------------------------------
 *
 * corpus_main.c
 *	  Replay files through LLVMFuzzerTestOneInput without libFuzzer, so the
 *	  corpus runs under ASan/UBSan as a plain test (make -C fuzz check).
 *
 * Usage: pprof_corpus_check FILE|DIR...  (directories: their regular files,
 * not recursively). A failing input abort()s inside the target, so the
 * process dies with the sanitizer's or the harness's report and the name of
 * the file, printed before each run, is the last line on stdout.
 *
 * Plain C, no PostgreSQL headers: the target owns all of that.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int	RunFile(const char *path);
static int	NameCompare(const void *a, const void *b);

static long passed;
static long failed;

/* Read a whole file and run it; returns 0 on success. */
static int
RunFile(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		len = 0,
				cap = 0,
				n;

	if (f == NULL)
	{
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		failed++;
		return 1;
	}
	for (;;)
	{
		if (len == cap)
		{
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (buf == NULL)
			{
				fprintf(stderr, "%s: out of memory\n", path);
				exit(2);
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	if (ferror(f))
	{
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		free(buf);
		failed++;
		return 1;
	}
	fclose(f);

	printf("%s (%zu bytes)\n", path, len);
	fflush(stdout);
	/* a copy of exactly len bytes, so ASan sees reads past the end */
	{
		uint8_t    *exact = malloc(len ? len : 1);

		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	free(buf);
	passed++;
	return 0;
}

static int
NameCompare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int
main(int argc, char **argv)
{
	int			i;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++)
	{
		struct stat st;

		if (stat(argv[i], &st) != 0)
		{
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		if (S_ISDIR(st.st_mode))
		{
			DIR		   *dir = opendir(argv[i]);
			struct dirent *de;
			char	  **names = NULL;
			size_t		n = 0,
						cap = 0,
						k;

			if (dir == NULL)
			{
				fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
				failed++;
				continue;
			}
			while ((de = readdir(dir)) != NULL)
			{
				char	   *path;
				struct stat fst;

				if (de->d_name[0] == '.')
					continue;
				path = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
				sprintf(path, "%s/%s", argv[i], de->d_name);
				if (stat(path, &fst) != 0 || !S_ISREG(fst.st_mode))
				{
					free(path);
					continue;
				}
				if (n == cap)
				{
					cap = cap ? cap * 2 : 64;
					names = realloc(names, cap * sizeof(char *));
				}
				names[n++] = path;
			}
			closedir(dir);
			/* sorted, so a failure reproduces in the same order */
			if (n > 0)
				qsort(names, n, sizeof(char *), NameCompare);
			for (k = 0; k < n; k++)
			{
				RunFile(names[k]);
				free(names[k]);
			}
			free(names);
		}
		else
			RunFile(argv[i]);
	}
	printf("%ld passed, %ld failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
