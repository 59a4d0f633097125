/* berth-init is the minimal init `berth run --init` puts at PID 1 (the
 * role of Docker's tini): it runs the container's command as its child in
 * a process group of its own, forwards every signal it gets to that group,
 * reaps the zombies orphaned processes leave, and exits with the
 * command's status (128 + the signal when a signal ended it).
 *
 *	berth-init -- COMMAND [ARG...]
 *
 * Every signal is blocked from main's first instruction and taken with
 * sigwaitinfo: a PID 1 drops a signal it has no handler for, but a
 * blocked one stays pending, so a `stop` sent right after the start is
 * never lost. Linked statically: the container may have no C library. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* child runs the command: its own process group, which takes the
 * terminal's foreground (so that ^C reaches it, as it would the PID 1),
 * the signal mask berth-init started with, then exec. */
static void child(char **argv, bool tty, const sigset_t *mask)
{
	setpgid(0, 0);
	/* SIGTTOU is blocked: a background group may take the terminal. */
	if (tty)
		tcsetpgrp(0, getpid());
	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	int e = errno;
	fprintf(stderr, "berth-init: exec %s: %s\n", argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* reap waits for every child that has ended; it returns true with the
 * exit status in *code once the command's own process has. */
static bool reap(pid_t cmd, int *code)
{
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return false;
		if (p != cmd)
			continue;
		*code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
		return true;
	}
}

int main(int argc, char **argv)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	int first = 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (first >= argc) {
		fputs("usage: berth-init -- COMMAND [ARG...]\n", stderr);
		return 2;
	}
	bool tty = isatty(0);
	pid_t cmd = fork();
	if (cmd < 0) {
		fprintf(stderr, "berth-init: fork: %s\n", strerror(errno));
		return 126;
	}
	if (cmd == 0)
		child(argv + first, tty, &old);
	/* Also here: a signal forwarded before the child's own setpgid must
	 * find its group. The child may have exec'd already (EACCES). */
	setpgid(cmd, cmd);
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&all, &si);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "berth-init: sigwaitinfo: %s\n", strerror(errno));
			return 1;
		}
		if (sig != SIGCHLD) {
			if (kill(-cmd, sig) < 0 && errno == ESRCH)
				kill(cmd, sig);
			continue;
		}
		int code;
		if (reap(cmd, &code))
			return code;
	}
}
