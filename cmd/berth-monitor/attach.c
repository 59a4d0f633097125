/* Attach clients: the frames of engine/monitor/attach.go over attach.sock.
 * Output is queued per client; while any client has more than BACKLOG
 * queued the monitor stops reading the container's output (back-pressure:
 * a slow client loses nothing). Stdin from clients is queued likewise. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* listen_in listens on a fresh unix socket name in the directory dirfd,
 * bound through /proc/self/fd/<dirfd>/name: the directory's own path is
 * longer than a socket address may be. */
int listen_in(int dirfd, const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n = snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	if (n < 0 || (size_t)n >= sizeof a.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlinkat(dirfd, name, 0);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int attach_listen(struct mon *m)
{
	m->lnfd = listen_in(m->dirfd, "attach.sock");
	if (m->lnfd < 0)
		return -1;
	m->ln_ev = EPOLLIN;
	return watch_fd(m, m->lnfd, K_LISTEN, EPOLLIN);
}

/* accept_resume watches the attach socket again after accept ran out of
 * descriptors (a client went, or a run ended). */
void accept_resume(struct mon *m)
{
	if (m->lnfd >= 0 && m->ln_ev == 0)
		set_events(m, m->lnfd, K_LISTEN, &m->ln_ev, EPOLLIN);
}

struct client *client_by_id(struct mon *m, uint32_t id)
{
	for (struct client *c = m->clients; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void client_update(struct mon *m, struct client *c)
{
	uint32_t want = 0;
	if (!c->closing && !m->in_full)
		want |= EPOLLIN;
	if (c->out.len > c->off)
		want |= EPOLLOUT;
	set_events_key(m, c->fd, K_CLIENT, c->id, &c->events, want);
}

static void client_remove(struct mon *m, struct client *c)
{
	for (struct client **p = &m->clients; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	unwatch_fd(m, c->fd);
	close(c->fd);
	buf_free(&c->out);
	buf_free(&c->in);
	free(c);
	accept_resume(m);
}

void attach_accept(struct mon *m)
{
	for (;;) {
		int fd = accept4(m->lnfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN)
				return;
			mlog("WARN", "accept an attach client: %s", strerror(errno));
			/* Out of descriptors or memory: the pending connection
			 * stays ready, and a level-triggered wait would spin on
			 * it. Stop watching until a client goes. */
			set_events(m, m->lnfd, K_LISTEN, &m->ln_ev, 0);
			return;
		}
		struct client *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++m->client_ids;
		c->events = 0;
		if (watch_key(m, fd, K_CLIENT, c->id, 0) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = m->clients;
		m->clients = c;
		client_update(m, c);
	}
}

/* client_send writes what the client has queued; -1 when it is gone. */
static int client_send(struct mon *m, struct client *c)
{
	while (c->out.len > c->off) {
		ssize_t n = send(c->fd, c->out.p + c->off, c->out.len - c->off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		c->off += (size_t)n;
		m->progress_ms = mono_ms();
	}
	if (c->off == c->out.len) {
		c->out.len = c->off = 0;
		buf_shrink(&c->out, 64 << 10);
	} else if (c->off >= (256 << 10) && c->off * 2 >= c->out.len) {
		buf_consume(&c->out, c->off);
		c->off = 0;
	}
	return 0;
}

/* stdin_close stops feeding the container's stdin for good. */
static void stdin_close(struct mon *m)
{
	unwatch_fd(m, m->in_fd);
	close(m->in_fd);
	m->in_fd = -1;
	m->in_close = false;
	m->in_q.len = 0;
	buf_shrink(&m->in_q, 0);
}

/* stdin_flush writes the queued stdin; closes stdin when asked and done. */
static void stdin_flush(struct mon *m)
{
	while (m->in_fd >= 0 && m->in_q.len > 0) {
		ssize_t n = write(m->in_fd, m->in_q.p, m->in_q.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			/* The container closed its stdin: drop the input. */
			stdin_close(m);
			break;
		}
		buf_consume(&m->in_q, (size_t)n);
	}
	if (m->in_q.len == 0)
		buf_shrink(&m->in_q, 64 << 10);
	if (m->in_fd >= 0 && m->in_close && m->in_q.len == 0)
		stdin_close(m);
	if (m->in_fd >= 0)
		set_events(m, m->in_fd, K_IN, &m->in_ev, m->in_q.len ? EPOLLOUT : 0);
	bool full = m->in_q.len > BACKLOG;
	if (full != m->in_full) {
		m->in_full = full;
		for (struct client *c = m->clients; c; c = c->next)
			client_update(m, c);
	}
}

/* stdin_event writes queued stdin. An error or hang-up (the container
 * closed its stdin, or every process closed the terminal) is reported by
 * epoll whatever the fd is watched for: close the fd, or the loop would
 * wake for it forever. */
void stdin_event(struct mon *m, uint32_t ev)
{
	if (ev & (EPOLLERR | EPOLLHUP)) {
		stdin_close(m);
		stdin_flush(m);
		return;
	}
	stdin_flush(m);
}

/* stdin_release closes the container's stdin at the end of a run. */
void stdin_release(struct mon *m)
{
	if (m->in_fd >= 0) {
		unwatch_fd(m, m->in_fd);
		close(m->in_fd);
	}
	m->in_fd = -1;
	m->in_q.len = 0;
	buf_shrink(&m->in_q, 0);
	m->in_close = false;
	if (m->in_full) {
		m->in_full = false;
		for (struct client *c = m->clients; c; c = c->next)
			client_update(m, c);
	}
}

static void frame(void *arg, int kind, const unsigned char *p, size_t n)
{
	struct mon *m = arg;
	switch (kind) {
	case FRAME_STDIN:
		if (m->in_fd < 0)
			return;
		if (n == 0) {
			if (!m->tty) {
				m->in_close = true;
				stdin_flush(m);
			}
			return;
		}
		if (buf_add(&m->in_q, p, n) < 0) {
			mlog("WARN", "stdin of %zu bytes dropped: out of memory", n);
			return;
		}
		stdin_flush(m);
		return;
	case FRAME_RESIZE:
		if (m->tty && m->out[0] >= 0 && n == 4) {
			struct winsize ws = {0};
			ws.ws_row = (unsigned short)(p[0] << 8 | p[1]);
			ws.ws_col = (unsigned short)(p[2] << 8 | p[3]);
			if (ioctl(m->out[0], TIOCSWINSZ, &ws) < 0)
				mlog("WARN", "resize the terminal: %s", strerror(errno));
		}
		return;
	}
}

/* client_read reads and handles the client's frames; -1 when it ended. */
static int client_read(struct mon *m, struct client *c)
{
	if (buf_reserve(&c->in, 64 << 10) < 0)
		return -1;
	ssize_t n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return -1;
	c->in.len += (size_t)n;
	long off = frames_parse((const unsigned char *)c->in.p, c->in.len, frame, m);
	if (off < 0)
		return -1;
	buf_consume(&c->in, (size_t)off);
	buf_shrink(&c->in, 64 << 10);
	return 0;
}

void client_event(struct mon *m, struct client *c, uint32_t ev)
{
	if ((ev & EPOLLIN) && !c->closing && client_read(m, c) < 0)
		c->closing = true;
	if ((ev & (EPOLLERR | EPOLLHUP)) && !(ev & EPOLLIN))
		c->closing = true;
	if (client_send(m, c) < 0 || (c->closing && c->out.len == c->off)) {
		client_remove(m, c);
		return;
	}
	client_update(m, c);
}

/* broadcast queues a frame for every client. */
void broadcast(struct mon *m, int kind, const void *p, size_t n)
{
	unsigned char h[5] = {(unsigned char)kind, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
			      (unsigned char)(n >> 8), (unsigned char)n};
	struct client *next;
	for (struct client *c = m->clients; c; c = next) {
		next = c->next;
		if (c->closing)
			continue;
		if (buf_add(&c->out, h, 5) < 0 || buf_add(&c->out, p, n) < 0 || client_send(m, c) < 0) {
			client_remove(m, c);
			continue;
		}
		client_update(m, c);
	}
}

size_t max_backlog(struct mon *m)
{
	size_t max = 0;
	for (struct client *c = m->clients; c; c = c->next)
		if (c->out.len - c->off > max)
			max = c->out.len - c->off;
	return max;
}

/* update_pause stops or resumes reading the container's output. */
void update_pause(struct mon *m)
{
	bool pause = max_backlog(m) > BACKLOG;
	if (pause == m->paused)
		return;
	m->paused = pause;
	for (int i = 0; i < 2; i++)
		if (m->out[i] >= 0)
			set_events(m, m->out[i], K_OUT0 + (uint32_t)i, &m->out_ev[i], pause ? 0 : EPOLLIN);
}

/* clients_finish sends what the clients have queued (for at most
 * timeout_ms) and closes them. */
void clients_finish(struct mon *m, int timeout_ms)
{
	for (struct client *c = m->clients; c; c = c->next) {
		c->closing = true;
		client_update(m, c);
	}
	int64_t end = mono_ms() + timeout_ms;
	while (m->clients) {
		bool pending = false;
		for (struct client *c = m->clients; c; c = c->next)
			if (c->out.len > c->off)
				pending = true;
		int64_t left = end - mono_ms();
		if (!pending || left <= 0)
			break;
		loop_poll(m, (int)left);
	}
	while (m->clients)
		client_remove(m, m->clients);
}
