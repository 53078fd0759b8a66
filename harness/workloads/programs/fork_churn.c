/*
 * fork-churn: N fork/_exit/wait cycles with at most K children alive at once.
 *
 * On FreeBSD fork1 reuses the first thread parked in a free PROC item, so after warm-up this raises v_forks but
 * barely moves kstack_cache REQ (I-9), and leaves U higher by the parked items (I-3).
 *
 * usage: fork_churn -n FORKS [-k CONCURRENCY]
 */
#include <sys/types.h>
#include <sys/wait.h>

#include "harness_common.h"

int main(int argc, char **argv)
{
	long forks = 0, concurrency = 8, started = 0, reaped = 0, failed = 0, alive = 0;
	int opt, status, last_err = 0;
	pid_t pid;
	double t0;

	while ((opt = getopt(argc, argv, "n:k:")) != -1) {
		switch (opt) {
		case 'n': forks = harness_count("n", optarg, 1, 100000000); break;
		case 'k': concurrency = harness_count("k", optarg, 1, 10000); break;
		default:
			fprintf(stderr, "usage: %s -n FORKS [-k CONCURRENCY]\n", argv[0]);
			return 2;
		}
	}
	if (forks == 0) {
		fprintf(stderr, "harness: error: -n FORKS is required\n");
		return 2;
	}
	t0 = harness_now();
	while (started + failed < forks || alive > 0) {
		if (alive < concurrency && started + failed < forks) {
			pid = fork();
			if (pid == 0)
				_exit(0);
			if (pid < 0) {
				failed++;
				last_err = errno;
				harness_sleep_ms(10);
			} else {
				started++;
				alive++;
			}
			continue;
		}
		pid = wait(&status);
		if (pid > 0) {
			reaped++;
			alive--;
		} else if (errno == ECHILD) {
			alive = 0;
		}
	}
	harness_say("done forks=%ld reaped=%ld failed=%ld last_error=%s seconds=%.2f", started, reaped, failed,
	    last_err ? strerror(last_err) : "none", harness_now() - t0);
	return failed == 0 ? 0 : 1;
}
