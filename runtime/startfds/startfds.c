// startfds records, before anything else in the process runs, whether the
// descriptors a command line hands berth-runtime (--preserve-fds N: 3 to
// 3+N-1; --wait-fd N) are open. By the time Go code can look, the Go
// runtime may have opened descriptors of its own (its poller's epoll and
// eventfd, when a standard descriptor is non-blocking) and cgprime's
// thread may hold files: both take the lowest free numbers, so a closed
// number named on the command line could seem open. This constructor runs
// first (priority 101), before cgprime's and earlyinit's (whose socket
// could otherwise take a named number) and before the Go runtime.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static long wait_fd = -1, preserve_n = -1;
static int wait_open, preserve_closed = -1;

// num parses a flag's value as pflag does (strconv.ParseInt, base 0) for
// the plain forms: decimal, 0x hex, 0 octal. Anything else is -1, and Go
// then checks the descriptor itself.
static long num(const char *v)
{
	if (v == NULL || *v == '\0')
		return -1;
	char *end;
	long n = strtol(v, &end, 0);
	return *end == '\0' && n >= 0 && n < 1 << 20 ? n : -1;
}

// value returns flag's value in argv[*i] ("--flag=V" or "--flag V"; ""
// when it is the last argument), or NULL when argv[*i] is not flag.
static const char *value(int argc, char **argv, int *i, const char *flag)
{
	size_t n = strlen(flag);
	const char *a = argv[*i];
	if (strncmp(a, flag, n) != 0)
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

__attribute__((constructor(101)))
static void startfds(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = value(argc, argv, &i, "--wait-fd")) != NULL)
			wait_fd = num(v);
		else if ((v = value(argc, argv, &i, "--preserve-fds")) != NULL)
			preserve_n = num(v);
	}
	if (wait_fd >= 0)
		wait_open = fcntl((int)wait_fd, F_GETFD) >= 0;
	for (long fd = 3; preserve_n > 0 && fd < 3 + preserve_n; fd++)
		if (fcntl((int)fd, F_GETFD) < 0) {
			preserve_closed = (int)fd;
			break;
		}
}

// berth_startfds_wait returns whether descriptor fd was open at start:
// 1 or 0, or -1 when the command line's --wait-fd was not fd (Go then
// checks it itself).
int berth_startfds_wait(long fd)
{
	return fd == wait_fd ? wait_open : -1;
}

// berth_startfds_preserved returns the first of the n preserved
// descriptors that was closed at start, 0 when none was, or -1 when the
// command line's --preserve-fds was not n.
int berth_startfds_preserved(long n)
{
	if (n != preserve_n)
		return -1;
	return preserve_closed < 0 ? 0 : preserve_closed;
}
