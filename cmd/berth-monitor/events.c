/* Container events in the engine's events log (<root>/events.log): one
 * JSON line each, Docker's events message, written under the flock of
 * <root>/events.lock, the log rotated to events.log.1 at 1 MiB. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVENTS_MAX (1 << 20)

struct attr {
	const char *k, *v;
	int prio; /* of two equal keys the higher wins */
};

static int cmp_attr(const void *a, const void *b)
{
	const struct attr *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : y->prio - x->prio;
}

/* line builds the event's JSON line. extra is key, value, ... NULL. */
static int line(struct mon *m, struct buf *b, const char *action, const char *const *extra)
{
	size_t nextra = 0;
	while (extra && extra[nextra] && extra[nextra + 1])
		nextra += 2;
	size_t n = m->nlabels + 2 + nextra / 2;
	struct attr *a = calloc(n, sizeof *a);
	if (!a)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < m->nlabels; i++)
		a[k++] = (struct attr){m->labels[i].key, m->labels[i].value, 0};
	a[k++] = (struct attr){"image", m->image, 1};
	a[k++] = (struct attr){"name", m->name, 1};
	for (size_t i = 0; i < nextra; i += 2)
		a[k++] = (struct attr){extra[i], extra[i + 1], 2};
	qsort(a, k, sizeof *a, cmp_attr);
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	int r = 0;
	r |= buf_str(b, "{\"status\":");
	r |= json_string(b, action, strlen(action), JSON_GO);
	r |= buf_str(b, ",\"id\":");
	r |= json_string(b, m->id, strlen(m->id), JSON_GO);
	r |= buf_str(b, ",\"from\":");
	r |= json_string(b, m->image, strlen(m->image), JSON_GO);
	r |= buf_str(b, ",\"Type\":\"container\",\"Action\":");
	r |= json_string(b, action, strlen(action), JSON_GO);
	r |= buf_str(b, ",\"Actor\":{\"ID\":");
	r |= json_string(b, m->id, strlen(m->id), JSON_GO);
	r |= buf_str(b, ",\"Attributes\":{");
	bool first = true;
	for (size_t i = 0; i < k; i++) {
		if (i > 0 && strcmp(a[i].k, a[i - 1].k) == 0)
			continue;
		if (!first)
			r |= buf_str(b, ",");
		first = false;
		r |= json_string(b, a[i].k, strlen(a[i].k), JSON_GO);
		r |= buf_str(b, ":");
		r |= json_string(b, a[i].v, strlen(a[i].v), JSON_GO);
	}
	r |= buf_printf(b, "}},\"scope\":\"local\",\"time\":%lld,\"timeNano\":%lld}\n", (long long)t.tv_sec,
			(long long)t.tv_sec * 1000000000LL + t.tv_nsec);
	free(a);
	return r ? -1 : 0;
}

/* event appends a container event for action to the events log. */
void event(struct mon *m, const char *action, const char *const *extra)
{
	if (!m->events || !*m->events)
		return;
	struct buf b = {0}, lock = {0}, old = {0};
	int lfd = -1, fd = -1;
	if (line(m, &b, action, extra) < 0)
		goto fail;
	const char *slash = strrchr(m->events, '/');
	size_t dirlen = slash ? (size_t)(slash - m->events) + 1 : 0;
	if (buf_add(&lock, m->events, dirlen) < 0 || buf_str(&lock, "events.lock") < 0 || buf_add(&lock, "", 1) < 0 ||
	    buf_printf(&old, "%s.1", m->events) < 0)
		goto fail;
	lfd = open(lock.p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		goto fail;
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			goto fail;
	struct stat st;
	if (stat(m->events, &st) == 0 && st.st_size >= EVENTS_MAX && rename(m->events, old.p) < 0)
		goto fail;
	fd = open(m->events, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	ssize_t w;
	do
		w = write(fd, b.p, b.len);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)b.len)
		goto fail;
	goto out;
fail:
	mlog("WARN", "write the %s event of %s: %s", action, m->id, strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0) {
		flock(lfd, LOCK_UN);
		close(lfd);
	}
	buf_free(&b);
	buf_free(&lock);
	buf_free(&old);
}
