/*
 * thread-hold: create N threads that all block, hold that plateau until released, then join them.
 *
 * Every live thread owns one kernel stack (FreeBSD: one kstack_cache item, USED; Linux: one THREAD_SIZE stack in
 * nr_kernel_stack), so the plateau is N stacks above the baseline. The host snapshots while the ready file exists.
 *
 * usage: thread_hold -n THREADS [-t HOLD_SECONDS] [-r READY_FILE] [-R RELEASE_FILE] [-s USER_STACK_KIB]
 */
#include <pthread.h>

#include "harness_common.h"

int main(int argc, char **argv)
{
	long nthreads = 0, hold_seconds = 60, stack_kib = 64, created = 0, failed = 0, i;
	const char *ready = NULL, *release = NULL;
	pthread_attr_t attr;
	pthread_t *threads;
	int opt, err, last_err = 0, released;

	while ((opt = getopt(argc, argv, "n:t:r:R:s:")) != -1) {
		switch (opt) {
		case 'n': nthreads = harness_count("n", optarg, 1, 1000000); break;
		case 't': hold_seconds = harness_count("t", optarg, 0, 86400); break;
		case 'r': ready = optarg; break;
		case 'R': release = optarg; break;
		case 's': stack_kib = harness_count("s", optarg, 16, 65536); break;
		default:
			fprintf(stderr, "usage: %s -n THREADS [-t HOLD] [-r READY] [-R RELEASE] [-s STACK_KIB]\n", argv[0]);
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
	/* Small user stacks: the kernel stack is what we measure, not user memory. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, (size_t)stack_kib * 1024);

	for (i = 0; i < nthreads; i++) {
		err = pthread_create(&threads[created], &attr, harness_gate_wait, NULL);
		if (err != 0) {
			failed++;
			last_err = err;
			continue;
		}
		created++;
	}
	harness_say("plateau threads=%ld failed=%ld last_error=%s", created, failed,
	    last_err ? strerror(last_err) : "none");
	harness_write_file(ready, created);

	released = harness_hold(release, hold_seconds);

	harness_gate_open();
	for (i = 0; i < created; i++)
		pthread_join(threads[i], NULL);
	harness_say("done threads=%ld failed=%ld released=%s", created, failed, released ? "file" : "timeout");
	free(threads);
	return failed == 0 ? 0 : 1;
}
