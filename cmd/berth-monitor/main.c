/* berth-monitor is the per-container monitor of berth's engine (the
 * conmon role): it creates the container through the OCI runtime's
 * command line, holds its stdio, writes its log, serves attach clients,
 * reaps it as a child subreaper, records how it ended and restarts it by
 * its policy. The engine (engine/start.go, monitor.Config.Args) starts it
 * in a new session, with the start handshake's socket as descriptor 3:
 *
 *   berth-monitor --id ID --runtime PATH --runtime-root DIR [--tty]
 *     [--open-stdin] [--prestart [--early-init]] [--log-max-size N] [--log-max-files N]
 *     [--restart POLICY] [--max-retries N] [--events PATH] [--name NAME]
 *     [--image IMAGE] [--label KEY=VALUE]... [--exit-command ARG]...
 *     [--run-dir DIR] [--wait-record] CONTAINER_DIR
 *
 * CONTAINER_DIR is the OCI bundle and holds container.log and exit.json
 * (which outlive a reboot); the run directory (CONTAINER_DIR if not
 * given) the monitor's other files: its pid, run.json, the runtime's pid
 * file, stop-requested, the sockets and its own monitor.log.
 *
 * berth-monitor --log-test PATH MAX_SIZE MAX_FILES runs only the log
 * writer on records read from stdin (engine/monitor's tests);
 * berth-monitor --frame-test CHUNK only the attach frames' parser
 * (frame.c).
 *
 * --prestart says the runtime takes berth-runtime's --wait-fd: the
 * monitor then starts its `run --detach` at once, and it waits for the
 * go-ahead (the engine's "S") before it reads the bundle. --early-init
 * passes berth-runtime's --early-init too: the runtime starts the
 * container's init while it waits.
 *
 * --wait-record says the engine started the monitor before it recorded
 * the container: the monitor starts the runtime (--prestart) at once, and
 * makes nothing, not even its directories' files, until the engine's
 * "P NAME\n" on descriptor 3 says the container is recorded under NAME
 * (which replaces --name) and its directories exist. Anything else there
 * (the engine gave up, or died) calls the runtime off and ends the
 * monitor, with nothing to undo. */
#include "mon.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int usage(const char *why)
{
	fprintf(stderr, "berth-monitor: %s\nusage: berth-monitor [options] CONTAINER_DIR\n", why);
	return 2;
}

static int num(const char *s, long long min, long long max, long long *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(s, &end, 10);
	if (errno || end == s || *end || x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse(struct mon *m, int argc, char **argv)
{
	m->restart = "no";
	m->name = m->image = "";
	/* At most argc labels and exit command words. */
	m->labels = calloc((size_t)argc, sizeof *m->labels);
	m->exitcmd = calloc((size_t)argc + 2, sizeof *m->exitcmd);
	if (!m->labels || !m->exitcmd)
		return usage("out of memory");
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--tty") == 0) {
			m->tty = true;
			continue;
		}
		if (strcmp(a, "--open-stdin") == 0) {
			m->open_stdin = true;
			continue;
		}
		if (strcmp(a, "--prestart") == 0) {
			m->prestart = true;
			continue;
		}
		if (strcmp(a, "--early-init") == 0) {
			m->early_init = true;
			continue;
		}
		if (strcmp(a, "--wait-record") == 0) {
			m->wait_record = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			break;
		if (i + 1 >= argc)
			return usage("an option without its value");
		const char *v = argv[++i];
		if (strcmp(a, "--id") == 0)
			m->id = v;
		else if (strcmp(a, "--runtime") == 0)
			m->runtime = v;
		else if (strcmp(a, "--runtime-root") == 0)
			m->runtime_root = v;
		else if (strcmp(a, "--restart") == 0)
			m->restart = v;
		else if (strcmp(a, "--events") == 0)
			m->events = v;
		else if (strcmp(a, "--name") == 0)
			m->name = v;
		else if (strcmp(a, "--image") == 0)
			m->image = v;
		else if (strcmp(a, "--run-dir") == 0)
			m->rundir = v;
		else if (strcmp(a, "--log-max-size") == 0) {
			if (num(v, -(1LL << 62), 1LL << 62, &m->log_max_size) < 0)
				return usage("bad --log-max-size");
		} else if (strcmp(a, "--log-max-files") == 0) {
			if (num(v, 0, 1 << 20, &m->log_max_files) < 0)
				return usage("bad --log-max-files");
		} else if (strcmp(a, "--max-retries") == 0) {
			if (num(v, 0, 1LL << 40, &m->max_retries) < 0)
				return usage("bad --max-retries");
		} else if (strcmp(a, "--label") == 0) {
			const char *eq = strchr(v, '=');
			if (!eq || eq == v)
				return usage("bad --label");
			struct label *l = &m->labels[m->nlabels++];
			l->key = strndup(v, (size_t)(eq - v));
			l->value = strdup(eq + 1);
			if (!l->key || !l->value)
				return usage("out of memory");
		} else if (strcmp(a, "--exit-command") == 0) {
			m->exitcmd[m->nexitcmd++] = (char *)v;
		} else {
			return usage("unknown option");
		}
	}
	if (i != argc - 1)
		return usage("one container directory expected");
	m->dir = argv[i];
	if (!m->rundir)
		m->rundir = m->dir;
	if (!m->id || !*m->id || strchr(m->id, '/') || !m->runtime || !*m->runtime || !m->runtime_root ||
	    m->dir[0] != '/' || m->rundir[0] != '/')
		return usage("--id, --runtime, --runtime-root and absolute directories are needed");
	return 0;
}

/* await_record reads the engine's "P NAME\n" on sync (--wait-record)
 * and takes NAME as the container's name; -1 on anything else. */
static int await_record(struct mon *m, int sync)
{
	char line[300];
	ssize_t n = read_line(sync, line, sizeof line);
	if (n < 3 || line[0] != 'P' || line[1] != ' ')
		return -1;
	/* A name as the engine allows it: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	for (const char *p = line + 2; *p; p++)
		if (!isalnum((unsigned char)*p) && (p == line + 2 || !strchr("_.-", *p)))
			return -1;
	m->name = strdup(line + 2);
	return m->name ? 0 : -1;
}

/* log_test feeds records from stdin to the log writer: a byte (o stdout,
 * e stderr, f flush), then for o and e a little-endian int64 seconds,
 * int32 nanoseconds, uint32 length and the data. */
static int log_test(int argc, char **argv)
{
	long long max_size, max_files;
	if (argc != 5 || num(argv[3], -(1LL << 62), 1LL << 62, &max_size) < 0 || num(argv[4], -1, 1 << 20, &max_files) < 0)
		return usage("--log-test PATH MAX_SIZE MAX_FILES");
	struct logw w;
	if (logw_open(&w, argv[2], max_size, (int)max_files) < 0)
		return 1;
	struct buf in = {0};
	char tmp[65536];
	ssize_t n;
	while ((n = read(0, tmp, sizeof tmp)) > 0)
		if (buf_add(&in, tmp, (size_t)n) < 0)
			return 1;
	size_t off = 0;
	while (off < in.len) {
		char op = in.p[off++];
		if (op == 'f') {
			logw_flush(&w);
			continue;
		}
		if (in.len - off < 16)
			return 1;
		int64_t sec;
		int32_t nsec;
		uint32_t len;
		memcpy(&sec, in.p + off, 8);
		memcpy(&nsec, in.p + off + 8, 4);
		memcpy(&len, in.p + off + 12, 4);
		off += 16;
		if (in.len - off < len || nsec < 0 || nsec >= 1000000000)
			return 1;
		struct timespec t = {(time_t)sec, nsec};
		logw_write(&w, op == 'e', in.p + off, len, &t);
		off += len;
	}
	logw_close(&w);
	buf_free(&in);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--log-test") == 0)
		return log_test(argc, argv);
	if (argc > 1 && strcmp(argv[1], "--frame-test") == 0)
		return frame_test(argc, argv);
	struct mon m = {0};
	m.dirfd = m.cdirfd = m.epfd = m.sigfd = m.lnfd = m.in_fd = m.remover = m.pre.go = m.pre.pid = -1;
	for (int i = 0; i < 2; i++)
		m.pre.in[i] = m.pre.o[i] = m.pre.e[i] = -1;
	m.out[0] = m.out[1] = -1;
	int r = parse(&m, argc, argv);
	if (r)
		return r;
	int sync = 3;
	if (fcntl(sync, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "berth-monitor: no start handshake on descriptor 3: %s\n", strerror(errno));
		return 1;
	}
	/* Before the runtime starts: its container's init is ours once the
	 * runtime has exited. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "berth-monitor: become a child subreaper: %s\n", strerror(errno));
		return 1;
	}
	/* The runtime's own start then overlaps the engine's work and the
	 * monitor's below: with --wait-record, the engine's from its start. */
	if (m.prestart && !m.tty)
		runtime_prestart(&m);
	if (m.wait_record && await_record(&m, sync) < 0) {
		runtime_call_off(&m);
		return 1;
	}
	m.dirfd = open(m.rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m.dirfd < 0) {
		fprintf(stderr, "berth-monitor: %s: %s\n", m.rundir, strerror(errno));
		runtime_call_off(&m);
		return 1;
	}
	mlog_open(m.dirfd);
	m.cdirfd = open(m.dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m.cdirfd < 0) {
		mlog("ERROR", "%s: %s", m.dir, strerror(errno));
		runtime_call_off(&m);
		return 1;
	}
	struct buf b = {0};
	if (buf_printf(&b, "%d\n", (int)getpid()) < 0 || write_file_at(m.dirfd, "monitor.pid", &b) < 0) {
		mlog("ERROR", "write monitor.pid: %s", strerror(errno));
		return 1;
	}
	buf_free(&b);
	if (buf_printf(&b, "%s/container.log", m.dir) < 0 ||
	    logw_open(&m.log, b.p, m.log_max_size, (int)m.log_max_files) < 0)
		return 1;
	buf_free(&b);
	if (loop_init(&m) < 0) {
		mlog("ERROR", "set up the event loop: %s", strerror(errno));
		return 1;
	}
	if (attach_listen(&m) < 0) {
		mlog("ERROR", "attach socket: %s", strerror(errno));
		return 1;
	}
	run_loop(&m, sync);
	clients_finish(&m, 2000);
	logw_close(&m.log);
	/* A foreground `run --rm` removes the container itself (the exit
	 * command only if it could not), rather than wait for a new berth. */
	if (m.nexitcmd > 0 && !removed_by_engine(&m, 10000)) {
		m.exitcmd[m.nexitcmd] = (char *)m.id;
		pid_t pid = spawn(m.exitcmd, -1, -1, -1);
		int st = pid < 0 ? -1 : run_wait(pid);
		if (st != 0)
			mlog("WARN", "exit command for %s failed (status %d)", m.id, st);
	}
	unlinkat(m.dirfd, "attach.sock", 0);
	return 0;
}
