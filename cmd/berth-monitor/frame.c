/* The attach frames' parser, shared by the attach clients (attach.c) and
 * the --frame-test mode that engine/monitor's fuzz target drives. */
#include "mon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* frames_parse calls fn for each whole frame at the start of p[0,n).
 * Returns how many bytes those frames took, or -1 when a frame claims
 * more than MAX_FRAME (the client is then dropped). A partial frame at
 * the end is left for the next call. */
long frames_parse(const unsigned char *p, size_t n, frame_fn fn, void *arg)
{
	size_t off = 0;
	while (n - off >= 5) {
		const unsigned char *h = p + off;
		uint32_t len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
		if (len > MAX_FRAME)
			return -1;
		if (n - off - 5 < len)
			break;
		fn(arg, h[0], h + 5, len);
		off += 5 + (size_t)len;
	}
	return (long)off;
}

static void print_frame(void *arg, int kind, const unsigned char *p, size_t n)
{
	(void)arg;
	printf("F %d %zu ", kind, n);
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

/* frame_test reads client frames from stdin, fed to the parser CHUNK bytes
 * at a time as a client's reads would be, and prints each frame
 * ("F kind length hex"), then "END left" (bytes of a partial frame at the
 * end) or "BAD" (an oversized frame). The bytes pending are copied to a
 * buffer of their exact size before each parse, so that a sanitizer sees
 * any read past them. */
int frame_test(int argc, char **argv)
{
	char *end = NULL;
	long chunk = argc == 3 ? strtol(argv[2], &end, 10) : 0;
	if (argc != 3 || !end || *end || chunk <= 0 || chunk > (1 << 22)) {
		fprintf(stderr, "usage: berth-monitor --frame-test CHUNK\n");
		return 2;
	}
	struct buf in = {0}, pend = {0};
	char tmp[65536];
	ssize_t r;
	while ((r = read(0, tmp, sizeof tmp)) > 0)
		if (buf_add(&in, tmp, (size_t)r) < 0)
			return 1;
	for (size_t off = 0; off < in.len;) {
		size_t k = in.len - off < (size_t)chunk ? in.len - off : (size_t)chunk;
		if (buf_add(&pend, in.p + off, k) < 0)
			return 1;
		off += k;
		unsigned char *exact = malloc(pend.len);
		if (!exact)
			return 1;
		memcpy(exact, pend.p, pend.len);
		long used = frames_parse(exact, pend.len, print_frame, NULL);
		free(exact);
		if (used < 0) {
			printf("BAD\n");
			buf_free(&in);
			buf_free(&pend);
			return 0;
		}
		buf_consume(&pend, (size_t)used);
	}
	printf("END %zu\n", pend.len);
	buf_free(&in);
	buf_free(&pend);
	return 0;
}
