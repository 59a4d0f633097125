/* Running the OCI runtime (create, start, state, delete) and other
 * commands. Each call waits for its own child by pid; orphans that land on
 * the monitor are reaped by the loop. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* spawn runs argv with in, out and err as its stdio (-1: /dev/null), with
 * default signal dispositions and an empty signal mask. */
pid_t spawn(char *const argv[], int in, int out, int err)
{
	return spawn_fd3(argv, in, out, err, -1);
}

/* spawn_fd3 is spawn, with fd3 (when >= 0) the child's descriptor 3. It
 * must be above 3: a dup2 onto itself would keep its close-on-exec. */
pid_t spawn_fd3(char *const argv[], int in, int out, int err, int fd3)
{
	if (fd3 >= 0 && fd3 <= 3) {
		errno = EINVAL;
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid = -1;
	int fds[3] = {in, out, err};
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -1;
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	int r = 0;
	for (int i = 0; i < 3 && r == 0; i++) {
		if (fds[i] < 0)
			r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
		else
			r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	}
	if (r == 0 && fd3 >= 0)
		r = posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&at, &all);
	if (r == 0)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		errno = r;
		return -1;
	}
	return pid;
}

/* run_wait waits for pid and returns its wait status, -1 on error. */
int run_wait(pid_t pid)
{
	int st;
	for (;;) {
		if (waitpid(pid, &st, 0) == pid)
			return st;
		if (errno != EINTR)
			return -1;
	}
}

/* status_msg describes a failed wait status as Go's exec.ExitError. */
static void status_msg(struct buf *b, int st)
{
	if (st < 0)
		buf_printf(b, "wait: %s", strerror(errno));
	else if (WIFEXITED(st))
		buf_printf(b, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		buf_printf(b, "signal: %s", strsignal(WTERMSIG(st)));
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* trimmed returns s[0,n) without the surrounding white space. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && strchr(" \t\r\n", **s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && strchr(" \t\r\n", (*s)[*n - 1]))
		(*n)--;
}

/* fail writes "<runtime> <verb>: <output or status>" to err. */
static void fail(struct mon *m, struct buf *err, const char *verb, const struct buf *out, int st)
{
	if (!err)
		return;
	err->len = 0;
	buf_printf(err, "%s %s: ", base(m->runtime), verb);
	const char *s = out ? out->p : NULL;
	size_t n = out ? out->len : 0;
	trim(&s, &n);
	/* An output with NULs would cut the message short: take its text. */
	size_t k = 0;
	while (k < n && s[k])
		k++;
	if (k > 0)
		buf_add(err, s, k);
	else
		status_msg(err, st);
	buf_add(err, "", 1);
	err->len--;
}

/* argv_runtime builds runtime --root ROOT args... (NULL terminated). */
static char **argv_runtime(struct mon *m, const char *const *args, size_t extra)
{
	size_t n = 0;
	while (args[n])
		n++;
	char **argv = calloc(n + extra + 4, sizeof *argv);
	if (!argv)
		return NULL;
	argv[0] = (char *)m->runtime;
	argv[1] = "--root";
	argv[2] = (char *)m->runtime_root;
	for (size_t i = 0; i < n; i++)
		argv[3 + i] = (char *)args[i];
	return argv;
}

/* argv_bundle builds runtime --root ROOT VERB --bundle DIR --pid-file
 * DIR/init.pid MORE... (MORE ends at its first NULL), with room for extra
 * arguments, which go from *at on. pidfile (n bytes) holds the path. */
static char **argv_bundle(struct mon *m, const char *verb, const char *const *more, char *pidfile, size_t n,
			  size_t extra, size_t *at, struct buf *err)
{
	if ((size_t)snprintf(pidfile, n, "%s/init.pid", m->rundir) >= n) {
		buf_str(err, "container directory name too long");
		return NULL;
	}
	const char *args[16] = {verb, "--bundle", m->dir, "--pid-file", pidfile};
	size_t k = 5;
	for (; *more && k < 15; more++)
		args[k++] = *more;
	char **argv = argv_runtime(m, args, extra);
	if (!argv) {
		buf_str(err, "out of memory");
		return NULL;
	}
	*at = 3 + k;
	return argv;
}

/* collect reads fd (non-blocking) into out, keeping at most 64 KiB, until
 * EOF or until pid has exited and nothing more is there. Returns the
 * wait status. */
static int collect(pid_t pid, int fd, struct buf *out)
{
	int st = -1;
	bool exited = false;
	char tmp[4096];
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1, exited ? 0 : 100);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			ssize_t k = read(fd, tmp, sizeof tmp);
			if (k > 0) {
				if (out && out->len < (64 << 10))
					buf_add(out, tmp, (size_t)k);
				continue;
			}
			if (k == 0 || (errno != EINTR && errno != EAGAIN))
				break;
			continue;
		}
		if (exited)
			break;
		/* Something the child left behind may hold the pipe: stop
		 * once the child itself is gone. */
		int w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno != EINTR)
			return -1;
	}
	if (!exited)
		st = run_wait(pid);
	return st;
}

/* runtime_call runs the runtime with args, its output (stdout and
 * stderr) in out when out is set; on failure the reason is in err.
 * Returns 0 when the runtime succeeded. */
int runtime_call(struct mon *m, const char *const *args, struct buf *out, struct buf *err)
{
	struct buf tmp = {0};
	if (!out)
		out = &tmp;
	out->len = 0;
	int p[2];
	char **argv = argv_runtime(m, args, 0);
	if (!argv || pipe2(p, O_CLOEXEC) < 0) {
		free(argv);
		if (err) {
			err->len = 0;
			buf_printf(err, "%s %s: %s", base(m->runtime), args[0], strerror(errno));
		}
		return -1;
	}
	pid_t pid = spawn(argv, -1, p[1], p[1]);
	int e = errno;
	free(argv);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		if (err) {
			err->len = 0;
			buf_printf(err, "%s %s: %s", base(m->runtime), args[0], strerror(e));
		}
		buf_free(&tmp);
		return -1;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	int st = collect(pid, p[0], out);
	close(p[0]);
	int ok = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!ok)
		fail(m, err, args[0], out, st);
	buf_free(&tmp);
	return ok ? 0 : -1;
}

/* recv_pty accepts the runtime's connection on the console socket and
 * returns the pty master it sends (runc's --console-socket protocol). */
static int recv_pty(int ln)
{
	int c = accept4(ln, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -1;
	char data[256];
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {data, sizeof data};
	struct msghdr msg = {0};
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = u.b;
	msg.msg_controllen = sizeof u.b;
	/* The runtime's connection is blocking: bound the wait. */
	struct timeval tv = {5, 0};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	ssize_t n;
	do
		n = recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	close(c);
	if (n < 0)
		return -1;
	int pty = -1;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS || h->cmsg_len < CMSG_LEN(0))
			continue;
		size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
			if (pty < 0)
				pty = fd;
			else
				close(fd);
		}
	}
	return pty;
}

/* read_pid reads the runtime's --pid-file. */
static pid_t read_pid(struct mon *m)
{
	int fd = openat(m->dirfd, "init.pid", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char s[32];
	ssize_t n = read(fd, s, sizeof s - 1);
	close(fd);
	if (n <= 0)
		return -1;
	s[n] = 0;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	while (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (errno || end == s || *end || v <= 0 || v > 0x3fffffff)
		return -1;
	return (pid_t)v;
}

/* create_tty runs create with --console-socket and takes the pty. */
static int create_tty(struct mon *m, char **argv, size_t at, struct buf *err)
{
	int ln = listen_in(m->dirfd, "console.sock");
	if (ln < 0) {
		buf_printf(err, "console socket: %s", strerror(errno));
		return -1;
	}
	char sock[96];
	snprintf(sock, sizeof sock, "/proc/%d/fd/%d/console.sock", (int)getpid(), m->dirfd);
	argv[at] = "--console-socket";
	argv[at + 1] = sock;
	argv[at + 2] = (char *)m->id;
	int p[2];
	int pty = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		buf_printf(err, "pipe: %s", strerror(errno));
		goto out;
	}
	pid_t pid = spawn(argv, -1, -1, p[1]);
	int e = errno;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		buf_printf(err, "%s create: %s", base(m->runtime), strerror(e));
		goto out;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	struct buf msg = {0};
	int st = -1;
	bool exited = false;
	int64_t deadline = mono_ms() + 60000;
	while (!exited || pty < 0) {
		struct pollfd pf[2] = {{ln, POLLIN, 0}, {p[0], POLLIN, 0}};
		int r = poll(pf, 2, exited ? 0 : 50);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pf[0].revents & POLLIN)) {
			int fd = recv_pty(ln);
			if (fd >= 0 && pty < 0)
				pty = fd;
			else if (fd >= 0)
				close(fd);
		}
		if (r > 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
			char tmp[1024];
			ssize_t k = read(p[0], tmp, sizeof tmp);
			if (k > 0 && msg.len < 4096)
				buf_add(&msg, tmp, (size_t)k);
			if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(p[0]);
				p[0] = -1; /* poll skips it */
			}
		}
		if (exited && r == 0)
			break;
		if (mono_ms() > deadline)
			break;
		if (exited)
			continue;
		int w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			exited = true;
		else if (w < 0 && errno != EINTR)
			break;
	}
	if (p[0] >= 0)
		close(p[0]);
	if (!exited)
		st = run_wait(pid);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fail(m, err, "create", &msg, st);
		buf_free(&msg);
		if (pty >= 0)
			close(pty);
		pty = -1;
		goto out;
	}
	buf_free(&msg);
	if (pty < 0)
		buf_str(err, "the runtime sent no terminal");
out:
	close(ln);
	unlinkat(m->dirfd, "console.sock", 0);
	return pty;
}

/* rtrun_close closes what is left of p's pipes. */
static void rtrun_close(struct rtrun *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->in[i] >= 0)
			close(p->in[i]);
		if (p->o[i] >= 0)
			close(p->o[i]);
		if (p->e[i] >= 0)
			close(p->e[i]);
		p->in[i] = p->o[i] = p->e[i] = -1;
	}
}

/* run_spawn starts the runtime's `run --detach` without a terminal,
 * with pipes for the container's stdio (p). With go >= 0 the runtime
 * waits on it for the go-ahead (--wait-fd) before it reads the bundle. */
static int run_spawn(struct mon *m, struct rtrun *p, int go, struct buf *err)
{
	const char *more[] = {"--detach", NULL, NULL, NULL, NULL};
	if (go >= 0) {
		more[1] = "--wait-fd";
		more[2] = "3";
		if (m->early_init)
			more[3] = "--early-init";
	}
	size_t at;
	char **argv = argv_bundle(m, "run", more, p->pidfile, sizeof p->pidfile, 1, &at, err);
	if (!argv)
		return -1;
	argv[at] = (char *)m->id;
	p->pid = -1;
	for (int i = 0; i < 2; i++)
		p->in[i] = p->o[i] = p->e[i] = -1;
	if ((m->open_stdin && pipe2(p->in, O_CLOEXEC) < 0) || pipe2(p->o, O_CLOEXEC) < 0 || pipe2(p->e, O_CLOEXEC) < 0) {
		buf_printf(err, "pipe: %s", strerror(errno));
		free(argv);
		rtrun_close(p);
		return -1;
	}
	p->pid = spawn_fd3(argv, p->in[0], p->o[1], p->e[1], go);
	int se = errno;
	free(argv);
	if (p->in[0] >= 0)
		close(p->in[0]);
	close(p->o[1]);
	close(p->e[1]);
	p->in[0] = p->o[1] = p->e[1] = -1;
	if (p->pid < 0) {
		buf_printf(err, "%s run: %s", base(m->runtime), strerror(se));
		rtrun_close(p);
		return -1;
	}
	return 0;
}

/* run_finish waits for the runtime run_spawn started and, when it
 * succeeded, takes the container's stdio and pid from p. A prestarted
 * runtime (p->go open) says 'R' there once the container runs: it has
 * succeeded then, and its exit is not waited for (the loop reaps it). */
static int run_finish(struct mon *m, struct rtrun *p, pid_t *pid, struct buf *err)
{
	bool running = false;
	if (p->go >= 0) {
		char c = 0;
		ssize_t k;
		do
			k = read(p->go, &c, 1);
		while (k < 0 && errno == EINTR);
		close(p->go);
		p->go = -1;
		running = k == 1 && c == 'R';
	}
	int st = running ? 0 : run_wait(p->pid);
	p->pid = -1;
	fcntl(p->o[0], F_SETFL, O_NONBLOCK);
	fcntl(p->e[0], F_SETFL, O_NONBLOCK);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		/* The container does not exist: what the runtime wrote is
		 * the reason. */
		struct buf msg = {0};
		char tmp[4096];
		ssize_t k = read(p->e[0], tmp, sizeof tmp);
		if (k > 0)
			buf_add(&msg, tmp, (size_t)k);
		fail(m, err, "run", &msg, st);
		buf_free(&msg);
		rtrun_close(p);
		return -1;
	}
	m->out[0] = p->o[0];
	m->out[1] = p->e[0];
	if (p->in[1] >= 0)
		fcntl(p->in[1], F_SETFL, O_NONBLOCK);
	m->in_fd = p->in[1];
	p->o[0] = p->e[0] = p->in[1] = -1;
	*pid = read_pid(m);
	if (*pid <= 0) {
		err->len = 0;
		buf_str(err, "read the container's pid: bad or missing init.pid");
		return -1;
	}
	return 0;
}

/* runtime_prestart starts the runtime's `run --detach` ahead of the
 * engine's go-ahead (m->prestart), when the runtime takes --wait-fd: its
 * process starts while the engine still makes the rootfs and the bundle.
 * runtime_create gives it the go-ahead; runtime_call_off calls it off. On failure
 * the runtime is started later, as without prestart. */
void runtime_prestart(struct mon *m)
{
	struct rtrun *p = &m->pre;
	p->go = -1;
	/* A socket: the go-ahead goes one way, the runtime's 'R' the other. */
	int g[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g) < 0)
		return;
	/* Above 3, so that the child's dup2 to 3 clears close-on-exec. */
	int r = fcntl(g[0], F_DUPFD_CLOEXEC, 10);
	close(g[0]);
	if (r < 0) {
		close(g[1]);
		return;
	}
	struct buf err = {0};
	int started = run_spawn(m, p, r, &err);
	close(r);
	if (started < 0) {
		mlog("WARN", "start the runtime ahead: %s", err.p ? err.p : "");
		buf_free(&err);
		close(g[1]);
		return;
	}
	buf_free(&err);
	p->go = g[1];
}

/* runtime_call_off ends a prestarted runtime that will not get its
 * go-ahead: it reads end-of-file and exits having made nothing. */
void runtime_call_off(struct mon *m)
{
	struct rtrun *p = &m->pre;
	if (p->go < 0)
		return;
	close(p->go);
	p->go = -1;
	run_wait(p->pid);
	p->pid = -1;
	rtrun_close(p);
}

/* runtime_create creates the container, its stdio in m->out and
 * m->in_fd, its pid in *pid. With a terminal it runs the runtime's
 * create, whose terminal comes through --console-socket; start follows.
 * Without, it runs the runtime's `run --detach`: created and started by
 * one runtime process, which saves the start's process. A runtime
 * prestarted (runtime_prestart) gets its go-ahead instead. */
int runtime_create(struct mon *m, pid_t *pid, struct buf *err)
{
	err->len = 0;
	if (!m->tty) {
		struct rtrun *p = &m->pre;
		if (p->go >= 0) {
			ssize_t w;
			do
				w = send(p->go, "G", 1, MSG_NOSIGNAL);
			while (w < 0 && errno == EINTR);
			/* A runtime that did not take it fails, and says why;
			 * run_finish reads its 'R' on p->go. */
		} else if (run_spawn(m, p, -1, err) < 0) {
			return -1;
		}
		return run_finish(m, p, pid, err);
	}
	char dirpid[4096];
	const char *more[] = {NULL};
	size_t at;
	char **argv = argv_bundle(m, "create", more, dirpid, sizeof dirpid, 3, &at, err);
	if (!argv)
		return -1;
	int pty = create_tty(m, argv, at, err);
	free(argv);
	if (pty < 0)
		return -1;
	fcntl(pty, F_SETFL, O_NONBLOCK);
	m->out[0] = pty;
	m->in_fd = fcntl(pty, F_DUPFD_CLOEXEC, 0);
	if (m->in_fd < 0) {
		buf_printf(err, "dup: %s", strerror(errno));
		return -1;
	}
	*pid = read_pid(m);
	if (*pid <= 0) {
		err->len = 0;
		buf_str(err, "read the container's pid: bad or missing init.pid");
		return -1;
	}
	return 0;
}
