/* The container's json-file log, byte for byte as engine/logs's Writer
 * writes it: one entry per line, lines longer than 16 KiB cut into
 * partial entries, rotation by size (path.1, path.2, ...). Keep the two
 * in step: engine/monitor's TestLogEquivalence compares them. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FLUSH_AT (64 << 10)
#define KEEP_BUF (16 << 10)

static const char *const stream_names[2] = {"stdout", "stderr"};

/* open_live opens the live file for appending (emptied when trunc); a
 * file left with a torn last line gets a '\n' first, so that the torn line
 * does not swallow the next entry. */
static int open_live(struct logw *w, bool trunc)
{
	int fd = open(w->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (trunc ? O_TRUNC : 0), 0640);
	if (fd < 0) {
		mlog("ERROR", "open log file %s: %s", w->path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		mlog("ERROR", "stat log file %s: %s", w->path, strerror(errno));
		close(fd);
		return -1;
	}
	long long size = st.st_size;
	if (size > 0) {
		char last;
		if (pread(fd, &last, 1, size - 1) != 1 || last != '\n') {
			if (write_all(fd, "\n", 1) < 0) {
				mlog("ERROR", "repair log file %s: %s", w->path, strerror(errno));
				close(fd);
				return -1;
			}
			size++;
		}
	}
	w->fd = fd;
	w->size = size;
	return 0;
}

int logw_open(struct logw *w, const char *path, long long max_size, int max_files)
{
	memset(w, 0, sizeof *w);
	w->fd = -1;
	if (max_size == 0)
		max_size = 10 << 20;
	if (max_files == 0)
		max_files = 3;
	if (max_files < 0) {
		mlog("ERROR", "log max-file %d: must be at least 1", max_files);
		return -1;
	}
	w->path = strdup(path);
	if (!w->path)
		return -1;
	w->max_size = max_size;
	w->max_files = max_files;
	return open_live(w, false);
}

/* write_out appends b[0, n) to the live file in one write. */
static int write_out(struct logw *w, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (write_all(w->fd, p, n) < 0) {
		int e = errno;
		struct stat st;
		if (fstat(w->fd, &st) == 0)
			w->size = st.st_size; /* the size counted what did not land */
		mlog("WARN", "write log file %s: %s", w->path, strerror(e));
		return -1;
	}
	return 0;
}

static int flush_out(struct logw *w)
{
	int r = write_out(w, w->out.p, w->out.len);
	w->out.len = 0;
	buf_shrink(&w->out, KEEP_BUF);
	return r;
}

static char *rotated(const char *path, int n)
{
	char *s = NULL;
	if (asprintf(&s, "%s.%d", path, n) < 0)
		return NULL;
	return s;
}

/* rotate shifts the files (path.(N-2) to path.(N-1), ..., path to path.1)
 * and opens a new live file; with one file the live one is unlinked and
 * made anew, so that a follower reads the old one to its end. */
static int rotate(struct logw *w)
{
	int r = 0;
	if (close(w->fd) < 0)
		r = -1;
	w->fd = -1;
	if (w->max_files >= 2) {
		for (int i = w->max_files - 1; i > 1; i--) {
			char *from = rotated(w->path, i - 1), *to = rotated(w->path, i);
			if (!from || !to || (rename(from, to) < 0 && errno != ENOENT))
				r = -1;
			free(from);
			free(to);
		}
		char *to = rotated(w->path, 1);
		if (!to || (rename(w->path, to) < 0 && errno != ENOENT))
			r = -1;
		free(to);
	} else if (unlink(w->path) < 0 && errno != ENOENT) {
		r = -1;
	}
	if (r < 0)
		mlog("WARN", "rotate log file %s: %s", w->path, strerror(errno));
	/* Whatever happened, keep a live file: truncated if the rename
	 * failed, so that the size bound holds. */
	if (open_live(w, true) < 0) {
		w->closed = true;
		return -1;
	}
	return r;
}

/* entry encodes one entry, rotating first when it would make the live
 * file exceed max_size. */
static int entry(struct logw *w, int si, const char *line, size_t n, const struct timespec *t)
{
	if (!w->have_ts || w->ts_for.tv_sec != t->tv_sec || w->ts_for.tv_nsec != t->tv_nsec) {
		w->ts.len = 0;
		if (buf_str(&w->ts, "\"") < 0 || json_time(&w->ts, t) < 0 || buf_str(&w->ts, "\"") < 0)
			return -1;
		w->ts_for = *t;
		w->have_ts = true;
	}
	size_t start = w->out.len;
	if (buf_str(&w->out, "{\"log\":") < 0 || json_string(&w->out, line, n, JSON_DOCKER) < 0 ||
	    buf_str(&w->out, ",\"stream\":\"") < 0 || buf_str(&w->out, stream_names[si]) < 0 ||
	    buf_str(&w->out, "\",\"time\":") < 0 || buf_add(&w->out, w->ts.p, w->ts.len) < 0 ||
	    buf_str(&w->out, "}\n") < 0) {
		w->out.len = start;
		return -1;
	}
	long long len = (long long)(w->out.len - start);
	if (w->max_size > 0 && w->size > 0 && w->size + len > w->max_size) {
		if (write_out(w, w->out.p, start) < 0) {
			w->out.len = 0;
			return -1;
		}
		buf_consume(&w->out, start);
		if (rotate(w) < 0) {
			w->out.len = 0;
			return -1;
		}
	}
	w->size += len;
	if (w->out.len >= FLUSH_AT)
		return flush_out(w);
	return 0;
}

/* done empties a stream's unfinished line, dropping a large buffer. */
static void done(struct pending *ps)
{
	ps->b.len = 0;
	buf_shrink(&ps->b, KEEP_BUF / 4);
}

/* logw_write logs p, output of stream 0 (stdout) or 1 (stderr) received
 * at t: each complete line becomes one entry, an unfinished one waits for
 * the rest (up to LOG_MAX_LINE). */
int logw_write(struct logw *w, int si, const void *pv, size_t n, const struct timespec *t)
{
	const char *p = pv;
	if (w->closed || si < 0 || si > 1)
		return -1;
	struct pending *ps = &w->st[si];
	while (n > 0) {
		if (!ps->in_line) {
			ps->t = *t;
			ps->in_line = true;
		}
		size_t room = LOG_MAX_LINE - ps->b.len;
		size_t k = n < room ? n : room;
		const char *nl = memchr(p, '\n', k);
		if (nl) {
			size_t i = (size_t)(nl - p) + 1;
			const char *line = p;
			size_t len = i;
			if (ps->b.len > 0) {
				if (buf_add(&ps->b, p, i) < 0)
					return -1;
				line = ps->b.p;
				len = ps->b.len;
			}
			int r = entry(w, si, line, len, &ps->t);
			done(ps);
			ps->in_line = false;
			if (r < 0)
				return -1;
			p += i;
			n -= i;
			continue;
		}
		if (ps->b.len == 0 && k == LOG_MAX_LINE) {
			if (entry(w, si, p, k, &ps->t) < 0)
				return -1;
			p += k;
			n -= k;
			continue;
		}
		if (buf_add(&ps->b, p, k) < 0)
			return -1;
		p += k;
		n -= k;
		if (ps->b.len == LOG_MAX_LINE) {
			int r = entry(w, si, ps->b.p, ps->b.len, &ps->t);
			done(ps);
			if (r < 0) {
				ps->in_line = false;
				return -1;
			}
		}
	}
	return flush_out(w);
}

/* logw_flush writes the unfinished lines as entries without a '\n'
 * (Docker's partial message), as at the container's exit. */
int logw_flush(struct logw *w)
{
	if (w->closed)
		return -1;
	for (int si = 0; si < 2; si++) {
		struct pending *ps = &w->st[si];
		if (ps->b.len > 0 && entry(w, si, ps->b.p, ps->b.len, &ps->t) < 0)
			return -1;
		done(ps);
		ps->in_line = false;
	}
	return flush_out(w);
}

void logw_close(struct logw *w)
{
	if (!w->closed) {
		logw_flush(w);
		w->closed = true;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
