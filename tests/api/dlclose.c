/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dlclose() of the shared library must not unmap code that the process
 * still points into: the pthread key destructor that closes a thread's
 * default ring when the thread exits, and the SIGBUS handler of the guarded
 * copies.  The library is linked with -z nodelete for that; without it this
 * program dies of SIGSEGV when its worker thread exits after the dlclose,
 * or when the SIGBUS raised after the dlclose reaches the library's
 * handler.
 *
 * Usage: dlclose-check PATH-TO-libmmapio.so.  Exit status 0 means it passed.
 * The program does not link mmapio; it reaches it through dlsym only.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*copy_fn)(const char *, const char *, unsigned);
typedef int (*default_backend_fn)(const char **);
typedef int (*open_fn)(const char *, int, const void *, void **);
typedef int (*read_fn)(void *, uint64_t, void *, size_t);
typedef int (*close_fn)(void *);

static copy_fn lib_copy;
static default_backend_fn lib_default_backend;

static char dir[] = "/tmp/mmapio-dlclose-XXXXXX";
static char src_path[64], dst_path[64];

/* The worker waits here, after its copy, until main has closed the library. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int copied, closed;
static int worker_rc;

/* Fails the program with a message. */
static void die(const char *what)
{
	fprintf(stderr, "dlclose-check: %s\n", what);
	exit(1);
}

/* Writes a file of len bytes at path. */
static void write_file(const char *path, size_t len)
{
	char *buf = calloc(1, len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (buf == NULL || fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) != 0)
		die("cannot write the test file");
	free(buf);
}

/*
 * Copies a 1 MiB file (large enough to go through the thread's default
 * ring), makes sure the default ring exists, then waits for main to
 * dlclose the library and exits: the key destructor runs now.
 */
static void *worker(void *arg)
{
	(void)arg;
	worker_rc = lib_copy(src_path, dst_path, 0);
	if (worker_rc == 0 && lib_default_backend(NULL) < 0)
		worker_rc = -1;
	pthread_mutex_lock(&lock);
	copied = 1;
	pthread_cond_broadcast(&cond);
	while (!closed)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static sigjmp_buf bus_env;

/* The program's own SIGBUS handler, which the library's handler chains to. */
static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_env, 1);
}

/*
 * Installs a SIGBUS handler of our own, then has the library install its
 * handler (which remembers ours) with a guarded read.
 */
static void install_handlers(void *handle)
{
	open_fn lib_open = (open_fn)(uintptr_t)dlsym(handle, "mmapio_open");
	read_fn lib_read = (read_fn)(uintptr_t)dlsym(handle, "mmapio_read");
	close_fn lib_close = (close_fn)(uintptr_t)dlsym(handle, "mmapio_close");
	struct sigaction sa;
	void *map = NULL;
	char byte;

	if (lib_open == NULL || lib_read == NULL || lib_close == NULL)
		die("dlsym of the map calls failed");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bus;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) != 0)
		die("sigaction");
	if (lib_open(src_path, 0 /* MMAPIO_READ_ONLY */, NULL, &map) != 0 ||
	    lib_read(map, 0, &byte, 1) != 0 || lib_close(map) != 0)
		die("a guarded read through the library failed");
}

/*
 * Raises a SIGBUS outside the library, by touching a mapped page past the
 * end of a truncated file.  The signal goes to the library's handler,
 * which passes it on to ours.  Returns 0 when our handler got it.
 */
static int raise_sigbus(void)
{
	char path[80];
	volatile char *p;
	int fd;

	snprintf(path, sizeof(path), "%s/bus", dir);
	write_file(path, 4096);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) != 0)
		die("mmap or ftruncate");
	close(fd);
	if (sigsetjmp(bus_env, 1) == 0) {
		(void)p[0];
		return 1; /* no SIGBUS: nothing was checked */
	}
	munmap((void *)p, 4096);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t t;
	void *handle;

	if (argc != 2)
		die("usage: dlclose-check PATH-TO-libmmapio.so");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(src_path, sizeof(src_path), "%s/src", dir);
	snprintf(dst_path, sizeof(dst_path), "%s/dst", dir);
	write_file(src_path, 1 << 20);

	handle = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL)
		die(dlerror());
	lib_copy = (copy_fn)(uintptr_t)dlsym(handle, "mmapio_copy");
	lib_default_backend = (default_backend_fn)(uintptr_t)dlsym(handle, "mmapio_default_backend");
	if (lib_copy == NULL || lib_default_backend == NULL)
		die("dlsym of mmapio_copy or mmapio_default_backend failed");
	install_handlers(handle);

	if (pthread_create(&t, NULL, worker, NULL) != 0)
		die("pthread_create");
	pthread_mutex_lock(&lock);
	while (!copied)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);

	if (dlclose(handle) != 0)
		die(dlerror());

	pthread_mutex_lock(&lock);
	closed = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (pthread_join(t, NULL) != 0)
		die("pthread_join");
	if (worker_rc != 0)
		die("the worker's copy failed");
	if (raise_sigbus() != 0)
		die("touching a truncated mapping raised no SIGBUS");

	unlink(src_path);
	unlink(dst_path);
	rmdir(dir);
	return 0;
}
