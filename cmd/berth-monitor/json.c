/* JSON as Go writes it: strings, RFC 3339 times, atomic files; and the
 * one field the monitor reads from the runtime's state. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* utf8_len returns the length of the valid UTF-8 sequence at s (as Go's
 * utf8.DecodeRune accepts it), or 0 when the first byte does not start
 * one. */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *r)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xBF;
	size_t len;
	uint32_t v;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	v = v << 6 | (s[1] & 0x3F);
	for (size_t i = 2; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	*r = v;
	return len;
}

/* json_string appends s as a quoted JSON string. JSON_DOCKER escapes as
 * Docker's json-file log (engine/logs appendString: only \n and \r get
 * short escapes), JSON_GO as encoding/json (\b \f \t too). Both escape
 * < > & and U+2028/U+2029, and write invalid UTF-8 as \ufffd. */
int json_string(struct buf *b, const void *sv, size_t n, int style)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = sv;
	/* The longest escape is 6 bytes per input byte. */
	if (n > (SIZE_MAX - 2) / 6 || buf_reserve(b, n * 6 + 2) < 0)
		return -1;
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			if (c >= 0x20 && c != '\\' && c != '"' && c != '<' && c != '>' && c != '&') {
				*o++ = (char)c;
				continue;
			}
			*o++ = '\\';
			switch (c) {
			case '\\':
			case '"':
				*o++ = (char)c;
				continue;
			case '\n':
				*o++ = 'n';
				continue;
			case '\r':
				*o++ = 'r';
				continue;
			}
			if (style == JSON_GO && (c == '\b' || c == '\f' || c == '\t')) {
				*o++ = c == '\b' ? 'b' : c == '\f' ? 'f' : 't';
				continue;
			}
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xF];
			continue;
		}
		uint32_t r = 0;
		size_t len = utf8_len(s + i, n - i, &r);
		if (len == 0) {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			i++;
			continue;
		}
		if (r == 0x2028 || r == 0x2029) {
			memcpy(o, r == 0x2028 ? "\\u2028" : "\\u2029", 6);
			o += 6;
		} else {
			memcpy(o, s + i, len);
			o += len;
		}
		i += len;
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	return 0;
}

/* json_time appends t as Go's time.RFC3339Nano in UTC (no quotes):
 * trailing zeros of the fraction trimmed, no fraction when it is 0. */
int json_time(struct buf *b, const struct timespec *t)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	if (!gmtime_r(&sec, &tm))
		return -1;
	char s[64];
	int n = snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || (size_t)n >= sizeof s)
		return -1;
	long ns = t->tv_nsec;
	if (ns > 0 && ns < 1000000000) {
		char f[16];
		snprintf(f, sizeof f, "%09ld", ns);
		int k = 9;
		while (k > 0 && f[k - 1] == '0')
			k--;
		f[k] = 0;
		s[n++] = '.';
		memcpy(s + n, f, (size_t)k);
		n += k;
	}
	s[n++] = 'Z';
	return buf_add(b, s, (size_t)n);
}

/* write_file_at replaces name in dirfd atomically (a temp file renamed
 * over it): readers never see half of it. */
int write_file_at(int dirfd, const char *name, const struct buf *b)
{
	char tmp[256];
	int n = snprintf(tmp, sizeof tmp, ".%s.tmp", name);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, b->p, b->len) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		return -1;
	}
	if (close(fd) < 0)
		return -1;
	return renameat(dirfd, tmp, dirfd, name);
}

/* A minimal JSON reader, enough to find one top-level field. */
struct jr {
	const char *s;
	size_t n, i;
	int depth;
};

static void ws(struct jr *j)
{
	while (j->i < j->n && strchr(" \t\r\n", j->s[j->i]) && j->s[j->i])
		j->i++;
}

/* jstring skips a string; the key's bytes are s[*a, *z) (escapes kept). */
static bool jstring(struct jr *j, size_t *a, size_t *z)
{
	if (j->i >= j->n || j->s[j->i] != '"')
		return false;
	*a = ++j->i;
	while (j->i < j->n) {
		char c = j->s[j->i];
		if (c == '\\') {
			j->i += 2;
			continue;
		}
		if (c == '"') {
			*z = j->i++;
			return true;
		}
		j->i++;
	}
	return false;
}

static bool jvalue(struct jr *j)
{
	size_t a, z;
	ws(j);
	if (j->i >= j->n || ++j->depth > 64)
		return false;
	char c = j->s[j->i];
	bool ok = true;
	if (c == '"') {
		ok = jstring(j, &a, &z);
	} else if (c == '{' || c == '[') {
		char end = c == '{' ? '}' : ']';
		j->i++;
		ws(j);
		if (j->i < j->n && j->s[j->i] == end) {
			j->i++;
		} else {
			for (;;) {
				if (c == '{') {
					ws(j);
					if (!jstring(j, &a, &z))
						return false;
					ws(j);
					if (j->i >= j->n || j->s[j->i++] != ':')
						return false;
				}
				if (!jvalue(j))
					return false;
				ws(j);
				if (j->i >= j->n)
					return false;
				if (j->s[j->i] == ',') {
					j->i++;
					continue;
				}
				if (j->s[j->i++] != end)
					return false;
				break;
			}
		}
	} else {
		size_t start = j->i;
		while (j->i < j->n && (strchr("+-.eE", j->s[j->i]) || (j->s[j->i] >= '0' && j->s[j->i] <= '9') ||
				       (j->s[j->i] >= 'a' && j->s[j->i] <= 'z')))
			j->i++;
		ok = j->i > start;
	}
	j->depth--;
	return ok;
}

/* json_oom_killed tells whether the runtime's state (a JSON object) has
 * "oomKilled": true at its top level. */
bool json_oom_killed(const char *s, size_t n)
{
	struct jr j = {s, n, 0, 0};
	size_t a, z;
	ws(&j);
	if (j.i >= n || s[j.i++] != '{')
		return false;
	ws(&j);
	if (j.i < n && s[j.i] == '}')
		return false;
	for (;;) {
		ws(&j);
		if (!jstring(&j, &a, &z))
			return false;
		ws(&j);
		if (j.i >= n || s[j.i++] != ':')
			return false;
		ws(&j);
		if (z - a == 9 && memcmp(s + a, "oomKilled", 9) == 0)
			return n - j.i >= 4 && memcmp(s + j.i, "true", 4) == 0 &&
			       (n - j.i == 4 || !((s[j.i + 4] >= 'a' && s[j.i + 4] <= 'z')));
		if (!jvalue(&j))
			return false;
		ws(&j);
		if (j.i >= n || s[j.i++] != ',')
			return false;
	}
}
