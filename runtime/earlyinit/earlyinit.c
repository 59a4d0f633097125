// earlyinit starts the container's init before the Go runtime does, for
// `berth-runtime run --early-init` and `create --early-init` (berth's
// monitor starts the runtime so while the engine still makes the rootfs
// and the bundle, and the runtime then waits for the go-ahead on
// --wait-fd). The init is berth-runtime-init, beside this binary, cloned
// into the new namespaces of the default spec (BERTH_EARLY_FLAGS) with the
// runtime's stdio and one end of a socket (the bundle may not exist yet:
// the init goes there once it has its config):
// its exec and its Go runtime's start (milliseconds) are then behind it
// when the config comes. The runtime's Go side takes it
// (berth_earlyinit_take), uses it if the config asks for those
// namespaces, and ends it otherwise; what depends on the config comes on
// the socket (runtime/initproc, SendEarly). Nothing is started in the
// container's init itself (_BERTH_INITPIPE set), with --preserve-fds, or
// with a standard descriptor closed.
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cargs.h"
#include "earlyinit.h"

static int early_pid = -1, early_sock = -1;

// berth_earlyinit_wants reports whether argv is a run or create command
// with --early-init and without --preserve-fds, skipping the global flags
// that take a value as cobra reads them (and --bundle's value).
int berth_earlyinit_wants(int argc, char **argv)
{
	int cmd = berth_command(argc, argv), early = 0;
	if (!berth_creates(argv, cmd))
		return 0;
	for (int i = cmd + 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (berth_is_flag(a, "--preserve-fds"))
			return 0;
		if (strcmp(a, "--early-init") == 0 || strcmp(a, "--early-init=true") == 0)
			early = 1;
		else if ((strcmp(a, "--bundle") == 0 || strcmp(a, "-b") == 0) && i + 1 < argc)
			i++;
	}
	return early;
}

// init_path opens berth-runtime-init beside this binary, not through a
// symlink.
static int init_path(void)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	*slash = '\0';
	if (snprintf(path, sizeof path, "%s/berth-runtime-init", self) >= (int)sizeof path)
		return -1;
	return open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
}

// child becomes the init, with the environment envp: only
// async-signal-safe calls until the exec (cgprime's thread may run).
static void child(int exe, int sock, char **envp)
{
	char *argv[] = {"berth-runtime-init", NULL};
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fcntl(sock, F_SETFD, 0) < 0)
		_exit(1);
	// Only stdio, the socket and the binary (close-on-exec): not the
	// go-ahead, nor anything else.
	int lo = exe < sock ? exe : sock, hi = exe < sock ? sock : exe;
	if (lo > 3)
		syscall(SYS_close_range, 3, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
	// exe is close-on-exec: execveat gets the file before it goes.
	syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
	_exit(127);
}

__attribute__((constructor))
static void earlyinit(int argc, char **argv)
{
	const char *env = getenv("_BERTH_INITPIPE");
	if ((env != NULL && *env != '\0') || !berth_earlyinit_wants(argc, argv))
		return;
	// A closed standard descriptor would take the socket's number: leave
	// such a start alone (the Go runtime opens /dev/null there).
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return;
	int exe = init_path();
	if (exe < 0)
		return;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		close(exe);
		return;
	}
	char pipe_env[64];
	snprintf(pipe_env, sizeof pipe_env, "_BERTH_INITPIPE=%d", sv[1]);
	char *envp[] = {pipe_env, "_BERTH_INIT_PROTOCOL=" BERTH_INIT_PROTOCOL, "GOMAXPROCS=1",
			"_BERTH_INIT_EARLY=1", NULL};
	// A fork into the namespaces: the child continues here, alone. (On a
	// thread of its own, the clone overlapped the Go runtime's start but
	// cost more than it saved: 21.6 against 21.0 ms a start.)
	long pid = syscall(SYS_clone, BERTH_EARLY_FLAGS | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		child(exe, sv[1], envp);
	close(exe);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return;
	}
	early_pid = (int)pid;
	early_sock = sv[0];
}

int berth_earlyinit_take(int *pid, int *sock)
{
	if (early_pid < 0)
		return 0;
	*pid = early_pid;
	*sock = early_sock;
	early_pid = early_sock = -1;
	return 1;
}
