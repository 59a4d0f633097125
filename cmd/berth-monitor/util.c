/* Growable buffers, the monitor's own log, small helpers. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int buf_reserve(struct buf *b, size_t n)
{
	if (n > SIZE_MAX / 2 - b->len)
		return -1;
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_str(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

/* buf_consume drops the first n bytes. */
void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* buf_shrink frees an empty buffer larger than keep: an idle monitor
 * should stay small after a burst. */
void buf_shrink(struct buf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep)
		buf_free(b);
}

/* read_line reads one line of the start handshake from fd a byte at a
 * time (what follows it stays unread), without its '\n', into line (cap
 * bytes, NUL-terminated). Returns its length; -1 at end of file (errno
 * 0), on an error, or when the line does not fit (errno E2BIG). */
ssize_t read_line(int fd, char *line, size_t cap)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		if (c == '\n')
			break;
		if (n == cap - 1) {
			errno = E2BIG;
			return -1;
		}
		line[n++] = c;
	}
	line[n] = 0;
	return (ssize_t)n;
}

int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The monitor's messages go to monitor.log beside the container's log:
 * it has no terminal once the command that started it is gone. Before
 * mlog_open they go to stderr. */
static int mlog_fd = 2;

void mlog_open(int dirfd)
{
	int fd = openat(dirfd, "monitor.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0)
		mlog_fd = fd;
}

void mlog(const char *level, const char *fmt, ...)
{
	struct buf b = {0};
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	buf_str(&b, "time=");
	json_time(&b, &t);
	buf_printf(&b, " level=%s msg=\"", level);
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) >= 0) {
		for (char *c = msg; *c; c++)
			if (*c == '\n' || *c == '"')
				*c = '\'';
		buf_str(&b, msg);
		free(msg);
	}
	va_end(ap);
	buf_str(&b, "\"\n");
	if (b.p)
		(void)write_all(mlog_fd, b.p, b.len);
	buf_free(&b);
}
