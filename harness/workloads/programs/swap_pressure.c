/*
 * swap-pressure: force kernel-stack swapout on kernels that still swap stacks (FreeBSD G0-G2), then swap back in.
 *
 * M sleeper processes, each with K threads blocked in read(2) on a pipe, sleep longer than
 * vm.swap_idle_threshold1; then the parent allocates and touches MIB MiB of anonymous memory (more than RAM), so
 * the VM daemon swaps out idle processes: their stacks are unwired and laundered (I-14, I-15). The host snapshots
 * at the plateau (ps shows W, v_swappgsout rises). Writing to the pipes wakes the sleepers: faultin swaps their
 * stacks back in (I-16).
 *
 * usage: swap_pressure -m MIB [-p PROCS] [-k THREADS] [-w IDLE_SECONDS] [-t HOLD] [-r READY] [-R RELEASE]
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <pthread.h>
#include <signal.h>

#include "harness_common.h"

static int wake_fd = -1;

static void *pipe_reader(void *arg)
{
	char byte;

	(void)arg;
	while (read(wake_fd, &byte, 1) < 0 && errno == EINTR)
		continue;
	return NULL;
}

/* A sleeper: K-1 extra threads plus the main thread, all asleep on the pipe until the parent writes K bytes. */
static void sleeper(int fd, long threads)
{
	pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
	long i, started = 0;

	wake_fd = fd;
	if (tids == NULL)
		_exit(2);
	for (i = 1; i < threads; i++)
		if (pthread_create(&tids[started], NULL, pipe_reader, NULL) == 0)
			started++;
	pipe_reader(NULL);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	_exit(0);
}

int main(int argc, char **argv)
{
	long mib = 0, procs = 8, threads = 4, idle_seconds = 5, hold_seconds = 60, i, page, touched = 0;
	const char *ready = NULL, *release = NULL;
	long pagesize = sysconf(_SC_PAGESIZE);
	int fds[2], opt, status, failed = 0;
	char *memory, *wake;
	pid_t *pids;

	while ((opt = getopt(argc, argv, "m:p:k:w:t:r:R:")) != -1) {
		switch (opt) {
		case 'm': mib = harness_count("m", optarg, 1, 16L * 1024 * 1024); break;
		case 'p': procs = harness_count("p", optarg, 1, 10000); break;
		case 'k': threads = harness_count("k", optarg, 1, 1000); break;
		case 'w': idle_seconds = harness_count("w", optarg, 0, 3600); break;
		case 't': hold_seconds = harness_count("t", optarg, 0, 86400); break;
		case 'r': ready = optarg; break;
		case 'R': release = optarg; break;
		default:
			fprintf(stderr, "usage: %s -m MIB [-p PROCS] [-k THREADS] [-w IDLE] [-t HOLD] [-r READY] [-R RELEASE]\n",
			    argv[0]);
			return 2;
		}
	}
	if (mib == 0) {
		fprintf(stderr, "harness: error: -m MIB is required\n");
		return 2;
	}
	if (pipe(fds) != 0) {
		perror("harness: pipe");
		return 2;
	}
	pids = calloc((size_t)procs, sizeof(*pids));
	if (pids == NULL)
		return 2;
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			close(fds[1]);
			sleeper(fds[0], threads);
		}
		if (pids[i] < 0) {
			perror("harness: fork");
			failed++;
		}
	}
	close(fds[0]);
	harness_say("sleepers procs=%ld threads_each=%ld idle_seconds=%ld", procs - failed, threads, idle_seconds);
	harness_sleep_ms(idle_seconds * 1000);

	/* Touch every page so the memory is really used; the kernel must page something out to satisfy us. */
	memory = malloc((size_t)mib * 1024 * 1024);
	if (memory == NULL) {
		perror("harness: malloc");
	} else {
		for (page = 0; page < mib * 1024 * 1024; page += pagesize) {
			memory[page] = (char)page;
			touched++;
		}
	}
	harness_say("plateau touched_pages=%ld mib=%ld", touched, mib);
	harness_write_file(ready, touched);
	harness_hold(release, hold_seconds);
	free(memory);

	/* Wake every sleeping thread: one byte each. */
	wake = calloc((size_t)(procs * threads), 1);
	if (wake != NULL && write(fds[1], wake, (size_t)(procs * threads)) < 0)
		perror("harness: write wake pipe");
	close(fds[1]);
	for (i = 0; i < procs; i++) {
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) > 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
			failed++;
	}
	harness_say("done procs=%ld failed=%d", procs, failed);
	free(wake);
	free(pids);
	return failed == 0 ? 0 : 1;
}
