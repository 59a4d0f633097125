/* The monitor's one event loop: epoll over the signalfd (SIGCHLD), the
 * attach socket and its clients, the container's output and stdin. */
#include "mon.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* Output is read in pieces of this size (one frame to the clients). */
#define READ_SIZE (32 << 10)

int loop_init(struct mon *m)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	m->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sigfd < 0)
		return -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return -1;
	return watch_fd(m, m->sigfd, K_SIG, EPOLLIN);
}

/* watch_key watches fd, its events tagged with kind and key (the fd
 * itself, or a client's id). */
int watch_key(struct mon *m, int fd, uint32_t kind, uint32_t key, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)kind << 32 | key};
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		mlog("ERROR", "epoll add: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int watch_fd(struct mon *m, int fd, uint32_t kind, uint32_t events)
{
	return watch_key(m, fd, kind, (uint32_t)fd, events);
}

/* set_events_key changes what fd is watched for, when it differs from
 * *cur. */
void set_events_key(struct mon *m, int fd, uint32_t kind, uint32_t key, uint32_t *cur, uint32_t want)
{
	if (*cur == want)
		return;
	struct epoll_event ev = {.events = want, .data.u64 = (uint64_t)kind << 32 | key};
	if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		mlog("ERROR", "epoll mod: %s", strerror(errno));
	else
		*cur = want;
}

void set_events(struct mon *m, int fd, uint32_t kind, uint32_t *cur, uint32_t want)
{
	set_events_key(m, fd, kind, (uint32_t)fd, cur, want);
}

void unwatch_fd(struct mon *m, int fd) { epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL); }

/* note records a child's end: the container's init, or an orphan kept
 * in case it turns out to be the init (reaped before its pid was read). */
static void note(struct mon *m, pid_t pid, int st)
{
	if (m->init_pid > 0 && pid == m->init_pid && !m->init_done) {
		m->init_done = true;
		m->init_status = st;
		return;
	}
	unsigned i = m->nreaped++ % (sizeof m->reaped / sizeof m->reaped[0]);
	m->reaped[i] = pid;
	m->reaped_status[i] = st;
}

/* reap_all reaps every child that has ended (the monitor is a child
 * subreaper: the container's orphans land on it). */
void reap_all(struct mon *m)
{
	struct signalfd_siginfo si;
	while (read(m->sigfd, &si, sizeof si) == sizeof si)
		;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			note(m, pid, st);
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD && m->init_pid > 0 && !m->init_done) {
			/* The container's process was never ours to reap. */
			m->init_done = m->init_lost = true;
		}
		return;
	}
}

/* output reads one piece of stream i, logs it and sends it to clients. */
static void output(struct mon *m, int i)
{
	char *p = NULL;
	struct buf b = {0};
	if (buf_reserve(&b, READ_SIZE) < 0)
		return;
	p = b.p;
	ssize_t n = read(m->out[i], p, READ_SIZE);
	if (n > 0) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		if (logw_write(&m->log, i, p, (size_t)n, &t) < 0)
			mlog("WARN", "write the log of %s", m->id);
		broadcast(m, i == 0 ? FRAME_STDOUT : FRAME_STDERR, p, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EOF; a pty reports EIO once the container's side closed. */
		unwatch_fd(m, m->out[i]);
		close(m->out[i]);
		m->out[i] = -1;
		m->out_ev[i] = 0;
	}
	buf_free(&b);
}

/* loop_poll waits up to timeout_ms (-1: no limit) for events and handles
 * them. */
int loop_poll(struct mon *m, int timeout_ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(m->epfd, evs, 16, timeout_ms);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		mlog("ERROR", "epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint32_t kind = (uint32_t)(evs[i].data.u64 >> 32);
		int fd = (int)(uint32_t)evs[i].data.u64;
		switch (kind) {
		case K_SIG:
			reap_all(m);
			break;
		case K_LISTEN:
			attach_accept(m);
			break;
		case K_OUT0:
		case K_OUT1:
			/* The fd may have been closed by an earlier event. */
			if (m->out[kind - K_OUT0] == fd)
				output(m, (int)(kind - K_OUT0));
			break;
		case K_IN:
			if (m->in_fd == fd)
				stdin_event(m, evs[i].events);
			break;
		case K_CLIENT: {
			/* By id: a client removed by an earlier event may have
			 * its fd's number reused by one accepted since. */
			struct client *c = client_by_id(m, (uint32_t)evs[i].data.u64);
			if (c)
				client_event(m, c, evs[i].events);
			break;
		}
		}
	}
	update_pause(m);
	return n;
}
