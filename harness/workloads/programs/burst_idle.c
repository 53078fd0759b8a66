/*
 * burst-and-idle: create a burst of N blocked threads, release and join them all, then stay idle while the host
 * samples once a second: on FreeBSD the cached stacks (kstack_cache FREE) decay by UMA trimming every 20 s, and a
 * later debug.uma_reclaim (done by the shell template) drains the rest (I-8, I-1).
 *
 * usage: burst_idle -n THREADS [-i IDLE_SECONDS] [-r READY_FILE] [-R RELEASE_FILE]
 */
#include <pthread.h>

#include "harness_common.h"

int main(int argc, char **argv)
{
	long nthreads = 0, idle_seconds = 60, created = 0, failed = 0, i, tick;
	const char *ready = NULL, *release = NULL;
	pthread_attr_t attr;
	pthread_t *threads;
	int opt;

	while ((opt = getopt(argc, argv, "n:i:r:R:")) != -1) {
		switch (opt) {
		case 'n': nthreads = harness_count("n", optarg, 1, 1000000); break;
		case 'i': idle_seconds = harness_count("i", optarg, 0, 86400); break;
		case 'r': ready = optarg; break;
		case 'R': release = optarg; break;
		default:
			fprintf(stderr, "usage: %s -n THREADS [-i IDLE_SECONDS] [-r READY] [-R RELEASE]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads == 0) {
		fprintf(stderr, "harness: error: -n THREADS is required\n");
		return 2;
	}
	threads = calloc((size_t)nthreads, sizeof(*threads));
	if (threads == NULL) {
		perror("harness: calloc");
		return 2;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&threads[created], &attr, harness_gate_wait, NULL) != 0)
			failed++;
		else
			created++;
	}
	harness_say("plateau threads=%ld failed=%ld", created, failed);
	harness_write_file(ready, created);
	/* The burst is held only until the host has its plateau snapshot (or 30 s without a host). */
	harness_hold(release, 30);
	harness_gate_open();
	for (i = 0; i < created; i++)
		pthread_join(threads[i], NULL);
	harness_say("burst-released threads=%ld", created);
	for (tick = 0; tick < idle_seconds; tick += 10) {
		harness_sleep_ms(1000L * (idle_seconds - tick < 10 ? idle_seconds - tick : 10));
		harness_say("idle seconds=%ld", tick + 10 < idle_seconds ? tick + 10 : idle_seconds);
	}
	harness_say("done threads=%ld failed=%ld", created, failed);
	free(threads);
	return failed == 0 ? 0 : 1;
}
