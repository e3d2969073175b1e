/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the fuzz target once over given inputs, without libFuzzer: the
 * corpus as a regression test in the normal build (meson test fuzz-corpus),
 * and a finding replayed under a debugger.  Arguments are files or
 * directories of files (*.md files in them are notes, not inputs).  Exits 0 when every input passed; a mismatch
 * aborts, as it does under libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the input in file path.  Returns 0, or -1 when it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
		if (f != NULL)
			fclose(f);
		return -1;
	}
	data = malloc((size_t)n + 1);
	if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)n);
	free(data);
	return 0;
}

/* Runs path, or every regular file in it when it is a directory.  Returns inputs run or -1. */
static int run_path(const char *path)
{
	struct dirent *e;
	struct stat st;
	char sub[4096];
	int n = 0;
	DIR *d;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz_replay: %s does not exist\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		/* Dot files and the notes beside the inputs are no inputs. */
		if (e->d_name[0] == '.' || (len > 3 && strcmp(e->d_name + len - 3, ".md") == 0))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(sub) < 0) {
			closedir(d);
			return -1;
		}
		n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	int i, n, total = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		n = run_path(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "fuzz_replay: no input given\n");
		return 1;
	}
	printf("fuzz_replay: %d inputs passed\n", total);
	return 0;
}
