// nsexec runs before the Go runtime starts, while the process is still
// single-threaded, because setns(2) into a user or mount namespace and
// unshare(CLONE_NEWUSER) are refused to multi-threaded processes. It is the
// counterpart of runc's nsexec and runs only in processes started by
// berth-runtime with _BERTH_INITPIPE set; for every other invocation it
// returns at once.
//
// Protocol on the init socket (fd in _BERTH_INITPIPE), parent -> child:
//   uint32 length, then NUL-separated "key=value" records:
//     flags=<decimal clone flags to unshare>
//     ns=<path>            namespace to join (in order; user first)
//     timens=<offsets>     content for /proc/self/timens_offsets
//     fork=1               fork even without a new pid/time namespace
//     root=1               become uid/gid 0 of the joined user namespace
// child -> parent:
//   'U'                    user namespace created: write uid/gid maps, reply 'A'
//   'P' int32 pid          pid of the process that continues into Go
//   'E' uint32 len, msg    fatal error
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

static int initfd = -1;

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

__attribute__((noreturn, format(printf, 1, 2)))
static void bail(const char *fmt, ...)
{
	char msg[1024];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (saved)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (initfd >= 0) {
		uint32_t len = (uint32_t)n;
		write_all(initfd, "E", 1);
		write_all(initfd, &len, sizeof(len));
		write_all(initfd, msg, len);
	} else {
		fprintf(stderr, "berth-runtime nsexec: %s\n", msg);
	}
	_exit(1);
}

// At most this many namespaces are joined (there are eight kinds).
#define MAX_JOIN 16

// Namespaces to join, opened while parsing the bootstrap message and
// joined afterwards. All are opened before any is joined: the paths
// (/proc/<pid>/ns/...) name the host's /proc, which joining the mount
// namespace replaces with the container's, where <pid> does not exist.
static struct {
	int fd;
	const char *path;
} joins[MAX_JOIN];
static int njoins;

static void open_namespace(const char *path)
{
	if (njoins == MAX_JOIN)
		bail("too many namespaces to join (at most %d)", MAX_JOIN);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bail("open namespace %s", path);
	joins[njoins].fd = fd;
	joins[njoins].path = path;
	njoins++;
}

static void join_namespaces(void)
{
	for (int i = 0; i < njoins; i++) {
		if (setns(joins[i].fd, 0) < 0)
			bail("setns %s", joins[i].path);
		close(joins[i].fd);
	}
	njoins = 0;
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail("open %s", path);
	if (write_all(fd, data, strlen(data)) < 0)
		bail("write %s", path);
	close(fd);
}

__attribute__((constructor))
static void nsexec(void)
{
	const char *env = getenv("_BERTH_INITPIPE");
	if (env == NULL || *env == '\0')
		return;
	initfd = atoi(env);
	if (initfd < 3)
		bail("invalid _BERTH_INITPIPE %s", env);
	// Signals wait until this process has reported the pid that goes on:
	// a SIGTERM to the runtime's process group must not kill the forking
	// parent after its child exists but before the runtime knows it, or the
	// runtime would wait on the init socket, which that child holds open,
	// for a pid that never comes. The process that goes on restores the
	// mask (and gets what is pending then); the forking parent exits with
	// signals still blocked.
	sigset_t all, old;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0)
		bail("block signals");
	// Until it executes the user's program (execve resets this), no
	// process of the container may ptrace this one or open its /proc
	// files: exe, fd, map_files, mem.
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail("prctl(PR_SET_DUMPABLE)");

	uint32_t len;
	if (read_all(initfd, &len, sizeof(len)) < 0)
		bail("read bootstrap length");
	if (len > 1 << 20)
		bail("bootstrap message too large (%u bytes)", len);
	char *data = malloc((size_t)len + 1);
	if (data == NULL)
		bail("allocate bootstrap message");
	if (read_all(initfd, data, len) < 0)
		bail("read bootstrap message");
	data[len] = '\0';

	unsigned long flags = 0;
	int want_fork = 0;
	const char *timens = NULL;
	int user_created = 0;
	int become_root = 0;

	for (char *p = data; p < data + len; p += strlen(p) + 1) {
		if (strncmp(p, "flags=", 6) == 0)
			flags = strtoul(p + 6, NULL, 10);
		else if (strncmp(p, "ns=", 3) == 0)
			open_namespace(p + 3);
		else if (strncmp(p, "timens=", 7) == 0)
			timens = p + 7;
		else if (strcmp(p, "fork=1") == 0)
			want_fork = 1;
		else if (strcmp(p, "root=1") == 0)
			become_root = 1;
	}
	// Join namespaces in the order the parent sent them (user first).
	join_namespaces();

	if (flags & CLONE_NEWUSER) {
		if (unshare(CLONE_NEWUSER) < 0)
			bail("unshare user namespace");
		user_created = 1;
		char ack;
		if (write_all(initfd, "U", 1) < 0)
			bail("request id mappings");
		if (read_all(initfd, &ack, 1) < 0 || ack != 'A')
			bail("wait for id mappings");
	}
	if (user_created || become_root) {
		// In a user namespace we joined or created, become its root so the
		// rest of setup has its full capability set.
		if (setresgid(0, 0, 0) < 0)
			bail("setresgid in user namespace");
		if (setresuid(0, 0, 0) < 0)
			bail("setresuid in user namespace");
	}
	unsigned long rest = flags & ~(unsigned long)CLONE_NEWUSER;
	if (rest && unshare((int)rest) < 0)
		bail("unshare namespaces (flags %#lx)", rest);
	if (timens != NULL && (flags & CLONE_NEWTIME))
		write_file("/proc/self/timens_offsets", timens);

	// A new or joined pid (or time) namespace applies only to children.
	if (want_fork || (flags & (CLONE_NEWPID | CLONE_NEWTIME))) {
		pid_t child = fork();
		if (child < 0)
			bail("fork into namespaces");
		if (child > 0) {
			int32_t pid = child;
			if (write_all(initfd, "P", 1) < 0 || write_all(initfd, &pid, sizeof(pid)) < 0)
				_exit(1);
			_exit(0);
		}
	} else {
		int32_t pid = getpid();
		if (write_all(initfd, "P", 1) < 0 || write_all(initfd, &pid, sizeof(pid)) < 0)
			bail("report pid");
	}
	free(data);
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0)
		bail("restore the signal mask");
}
