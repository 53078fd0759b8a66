/*
 * thread-churn: R rounds of T short-lived threads, at most C alive at once, with a pause between rounds.
 *
 * Every pthread_create takes one stack from the kernel (FreeBSD: one kstack_cache REQ, I-9); after warm-up the
 * cache serves them (I-8). Errors (EAGAIN, ENOMEM) are counted, not fatal: they are an observable (I-18).
 *
 * usage: thread_churn -T THREADS_PER_ROUND -R ROUNDS [-C CONCURRENCY] [-p PAUSE_MS]
 */
#include <pthread.h>

#include "harness_common.h"

static void *short_thread(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long per_round = 0, rounds = 0, concurrency = 64, pause_ms = 0, created = 0, failed = 0;
	long round, done, batch, i, started;
	pthread_attr_t attr;
	pthread_t *threads;
	double t0;
	int opt, err, last_err = 0;

	while ((opt = getopt(argc, argv, "T:R:C:p:")) != -1) {
		switch (opt) {
		case 'T': per_round = harness_count("T", optarg, 1, 1000000); break;
		case 'R': rounds = harness_count("R", optarg, 1, 100000000); break;
		case 'C': concurrency = harness_count("C", optarg, 1, 100000); break;
		case 'p': pause_ms = harness_count("p", optarg, 0, 3600000); break;
		default:
			fprintf(stderr, "usage: %s -T PER_ROUND -R ROUNDS [-C CONCURRENCY] [-p PAUSE_MS]\n", argv[0]);
			return 2;
		}
	}
	if (per_round == 0 || rounds == 0) {
		fprintf(stderr, "harness: error: -T and -R are required\n");
		return 2;
	}
	threads = calloc((size_t)concurrency, sizeof(*threads));
	if (threads == NULL) {
		perror("harness: calloc");
		return 2;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	t0 = harness_now();
	for (round = 0; round < rounds; round++) {
		for (done = 0; done < per_round; done += batch) {
			batch = per_round - done < concurrency ? per_round - done : concurrency;
			started = 0;
			for (i = 0; i < batch; i++) {
				err = pthread_create(&threads[started], &attr, short_thread, NULL);
				if (err != 0) {
					failed++;
					last_err = err;
					continue;
				}
				started++;
			}
			for (i = 0; i < started; i++)
				pthread_join(threads[i], NULL);
			created += started;
		}
		harness_say("round %ld created=%ld failed=%ld", round + 1, created, failed);
		if (pause_ms > 0 && round + 1 < rounds)
			harness_sleep_ms(pause_ms);
	}
	harness_say("done threads=%ld failed=%ld last_error=%s seconds=%.2f", created, failed,
	    last_err ? strerror(last_err) : "none", harness_now() - t0);
	free(threads);
	return failed == 0 ? 0 : 1;
}
