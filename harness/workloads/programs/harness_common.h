/*
 * Shared helpers for the harness workload programs: argument parsing of counts, progress lines on stdout
 * ("harness: key=value ..."), ready/release files so the host can snapshot at the plateau.
 * POSIX only (pthreads, fork, wait): builds with the guest's own cc on FreeBSD and with gcc on Linux.
 */
#ifndef HARNESS_COMMON_H
#define HARNESS_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline long harness_count(const char *opt, const char *text, long low, long high)
{
	char *end = NULL;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < low || value > high) {
		fprintf(stderr, "harness: error: -%s needs an integer in [%ld, %ld], got '%s'\n", opt, low, high, text);
		exit(2);
	}
	return value;
}

static inline void harness_say(const char *fmt, ...)
{
	va_list ap;

	printf("harness: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Write "value\n" to path atomically (temp file + rename) so a poller never reads half a file. */
static inline void harness_write_file(const char *path, long value)
{
	char tmp[PATH_MAX];
	FILE *out;

	if (path == NULL || *path == '\0')
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	out = fopen(tmp, "w");
	if (out == NULL) {
		perror("harness: fopen ready file");
		exit(2);
	}
	fprintf(out, "%ld\n", value);
	fclose(out);
	if (rename(tmp, path) != 0) {
		perror("harness: rename ready file");
		exit(2);
	}
}

static inline double harness_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void harness_sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		continue;
}

/* Wait until release_path exists or hold_seconds have passed (hold_seconds 0: do not wait at all). */
static inline int harness_hold(const char *release_path, long hold_seconds)
{
	double deadline = harness_now() + (double)hold_seconds;

	while (harness_now() < deadline) {
		if (release_path != NULL && *release_path != '\0' && access(release_path, F_OK) == 0)
			return 1;
		harness_sleep_ms(100);
	}
	return 0;
}

#ifdef PTHREAD_MUTEX_INITIALIZER
/*
 * The plateau gate of programs that hold threads (included after <pthread.h>): each held thread runs
 * harness_gate_wait() and blocks until harness_gate_open() releases them all at once.
 */
static pthread_mutex_t harness_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t harness_gate_cond = PTHREAD_COND_INITIALIZER;
static int harness_gate_is_open;

static inline void *harness_gate_wait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&harness_gate_lock);
	while (!harness_gate_is_open)
		pthread_cond_wait(&harness_gate_cond, &harness_gate_lock);
	pthread_mutex_unlock(&harness_gate_lock);
	return NULL;
}

static inline void harness_gate_open(void)
{
	pthread_mutex_lock(&harness_gate_lock);
	harness_gate_is_open = 1;
	pthread_cond_broadcast(&harness_gate_cond);
	pthread_mutex_unlock(&harness_gate_lock);
}
#endif

#endif
