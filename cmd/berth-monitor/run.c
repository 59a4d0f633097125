/* The container's lifecycle: the start handshake, create and start (one
 * `run --detach` without a terminal), wait, record the exit, restart by
 * the policy. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* DRAIN_MS is how long output is still read after the container's init
 * ended: processes that outlive it keep the pipes open. */
#define DRAIN_MS 2000

static void rt(struct mon *m, const char *verb, const char *arg)
{
	const char *args[] = {verb, arg, m->id, NULL};
	if (!arg) {
		args[1] = m->id;
		args[2] = NULL;
	}
	struct buf err = {0};
	if (runtime_call(m, args, NULL, &err) < 0)
		mlog("WARN", "%s", err.p ? err.p : verb);
	buf_free(&err);
}

/* sync_send writes a handshake line, the message on one line. */
static void sync_send(int sync, char kind, const char *msg)
{
	struct buf b = {0};
	buf_printf(&b, "%c ", kind);
	const char *s = msg ? msg : "";
	size_t n = strlen(s);
	while (n > 0 && strchr(" \t\r\n", *s)) {
		s++;
		n--;
	}
	while (n > 0 && strchr(" \t\r\n", s[n - 1]))
		n--;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			buf_str(&b, "; ");
		else
			buf_add(&b, s + i, 1);
	}
	buf_str(&b, "\n");
	if (b.p && write_all(sync, b.p, b.len) < 0)
		mlog("WARN", "handshake: %s", strerror(errno));
	buf_free(&b);
}

/* wait_start waits for the engine's "S", or "S <pid>": the engine
 * process pid removes the container itself once it exits, and says "D"
 * on sync when it has (m->remover keeps sync open for that). */
static int wait_start(struct mon *m, int sync)
{
	char line[64];
	ssize_t r = read_line(sync, line, sizeof line);
	if (r < 0) {
		mlog("ERROR", "wait for start: %s", errno ? strerror(errno) : "EOF");
		return -1;
	}
	size_t n = (size_t)r;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\r'))
		n--;
	line[n] = 0;
	if (n < 1 || line[0] != 'S' || (n > 1 && line[1] != ' ')) {
		mlog("ERROR", "wait for start: unexpected line");
		return -1;
	}
	if (n > 2) {
		char *end;
		errno = 0;
		long pid = strtol(line + 2, &end, 10);
		if (errno || *end || pid <= 0) {
			mlog("ERROR", "wait for start: bad pid");
			return -1;
		}
		/* The pid is only informative: sync itself says whether the
		 * removal was done ("D") or the engine ended first (EOF), with
		 * no pid to outlive the process and be reused. */
		m->remover = sync;
	}
	return 0;
}

/* removed_by_engine waits, when an engine process said it removes the
 * container (m->remover), for its word on sync (for at most timeout_ms)
 * and tells whether it removed the container: "D" once its removal is
 * complete, record included. Its end without "D" (killed midway, or the
 * removal failed) leaves the rest to the exit command, which finishes
 * whatever of the removal is left. */
bool removed_by_engine(struct mon *m, int timeout_ms)
{
	if (m->remover < 0)
		return false;
	bool done = false;
	int64_t end = mono_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - mono_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = m->remover, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		char c;
		ssize_t got = read(m->remover, &c, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		done = got == 1 && c == 'D';
		break;
	}
	close(m->remover);
	m->remover = -1;
	return done;
}

static bool exists(struct mon *m, const char *name)
{
	struct stat st;
	return fstatat(m->dirfd, name, &st, 0) == 0;
}

static bool should_restart(struct mon *m, int code, long long restarts)
{
	if (exists(m, "stop-requested"))
		return false;
	if (strcmp(m->restart, "always") == 0 || strcmp(m->restart, "unless-stopped") == 0)
		return true;
	if (strcmp(m->restart, "on-failure") == 0)
		return code != 0 && (m->max_retries == 0 || restarts < m->max_retries);
	return false;
}

static void now(struct timespec *t) { clock_gettime(CLOCK_REALTIME, t); }

static int write_run(struct mon *m, pid_t pid, const struct timespec *t, long long restarts)
{
	struct buf b = {0};
	int r = buf_printf(&b, "{\"pid\":%d,\"startedAt\":\"", (int)pid);
	if (r == 0)
		r = json_time(&b, t);
	if (r == 0)
		r = buf_printf(&b, "\",\"restartCount\":%lld}", restarts);
	if (r == 0)
		r = write_file_at(m->dirfd, "run.json", &b);
	buf_free(&b);
	return r;
}

static int write_exit(struct mon *m, int code, const struct timespec *t, bool oom, const char *err, bool final)
{
	struct buf b = {0};
	int r = buf_printf(&b, "{\"exitCode\":%d,\"finishedAt\":\"", code);
	if (r == 0)
		r = json_time(&b, t);
	if (r == 0)
		r = buf_str(&b, "\"");
	if (r == 0 && oom)
		r = buf_str(&b, ",\"oomKilled\":true");
	if (r == 0 && err && *err)
		r = buf_str(&b, ",\"error\":") < 0 ? -1 : json_string(&b, err, strlen(err), JSON_GO);
	if (r == 0)
		r = buf_printf(&b, ",\"final\":%s}", final ? "true" : "false");
	if (r == 0)
		r = write_file_at(m->cdirfd, "exit.json", &b);
	buf_free(&b);
	return r;
}

/* release closes what a run opened: its output streams and stdin. */
static void release(struct mon *m)
{
	for (int i = 0; i < 2; i++) {
		if (m->out[i] >= 0) {
			unwatch_fd(m, m->out[i]);
			close(m->out[i]);
		}
		m->out[i] = -1;
		m->out_ev[i] = 0;
	}
	m->paused = false;
	stdin_release(m);
	accept_resume(m);
}

/* watch_run puts the run's streams in the loop. */
static int watch_run(struct mon *m)
{
	for (int i = 0; i < 2; i++) {
		if (m->out[i] < 0)
			continue;
		m->out_ev[i] = EPOLLIN;
		if (watch_fd(m, m->out[i], K_OUT0 + (uint32_t)i, EPOLLIN) < 0)
			return -1;
	}
	if (m->in_fd >= 0) {
		m->in_ev = 0;
		if (watch_fd(m, m->in_fd, K_IN, 0) < 0)
			return -1;
	}
	return 0;
}

/* known takes the init's status if it was reaped before its pid was read. */
static void known(struct mon *m)
{
	unsigned n = m->nreaped < 16 ? m->nreaped : 16;
	for (unsigned i = 0; i < n; i++) {
		if (m->reaped[i] == m->init_pid) {
			m->init_done = true;
			m->init_status = m->reaped_status[i];
			m->reaped[i] = 0;
		}
	}
}

/* wait_exit serves the loop until the container's init has ended and its
 * output is drained (or DRAIN_MS passed without progress). */
static void wait_exit(struct mon *m)
{
	reap_all(m);
	while (!m->init_done)
		if (loop_poll(m, -1) < 0)
			reap_all(m);
	int64_t end = mono_ms() + DRAIN_MS;
	for (;;) {
		if (m->out[0] < 0 && m->out[1] < 0)
			break;
		int64_t t = mono_ms();
		/* A slow client holding the output back still makes
		 * progress: wait for it. */
		if (m->paused && m->progress_ms + DRAIN_MS > end)
			end = m->progress_ms + DRAIN_MS;
		if (t >= end)
			break;
		loop_poll(m, (int)(end - t));
	}
}

/* backoff serves the loop for ms, or until stop-requested appears.
 * Returns true when a stop was requested. */
static bool backoff(struct mon *m, int64_t ms)
{
	int64_t end = mono_ms() + ms;
	for (;;) {
		if (exists(m, "stop-requested"))
			return true;
		int64_t left = end - mono_ms();
		if (left <= 0)
			return false;
		loop_poll(m, left < 50 ? (int)left : 50);
	}
}

/* run_loop creates and runs the container until the restart policy says
 * it is done. sync is the start handshake with the engine (closed here).
 * Returns the last exit code, -1 when the first start failed. */
int run_loop(struct mon *m, int sync)
{
	long long restarts = 0;
	int64_t delay = 100;
	struct buf err = {0};
	for (;;) {
		unlinkat(m->dirfd, "init.pid", 0);
		int64_t started = mono_ms();
		pid_t pid = 0;
		m->init_pid = 0;
		m->init_done = m->init_lost = false;
		m->nreaped = 0;
		err.len = 0;
		/* Without a terminal one runtime process creates and starts
		 * the container (`run --detach`), after the go-ahead. A
		 * terminal is created first, so that the engine sets its size
		 * before the process starts. */
		bool one_call = !m->tty;
		int r = one_call ? 0 : runtime_create(m, &pid, &err);
		if (sync >= 0 && r == 0) {
			/* pid 0: not created yet (one_call) */
			char s[32];
			snprintf(s, sizeof s, "%d", (int)pid);
			sync_send(sync, 'C', s);
			if (wait_start(m, sync) < 0) {
				if (!one_call)
					rt(m, "delete", "--force");
				runtime_call_off(m);
				close(sync);
				release(m);
				buf_free(&err);
				return -1;
			}
		}
		if (r == 0 && one_call)
			r = runtime_create(m, &pid, &err);
		if (sync >= 0 && r < 0) {
			sync_send(sync, 'E', err.p);
			/* A run that failed after its create may leave it. */
			if (one_call)
				rt(m, "delete", "--force");
			close(sync);
			release(m);
			buf_free(&err);
			return -1;
		}
		struct timespec t;
		if (r == 0) {
			m->init_pid = pid;
			known(m);
		}
		if (r == 0 && !one_call) {
			const char *args[] = {"start", m->id, NULL};
			r = runtime_call(m, args, NULL, &err);
		}
		if (r == 0) {
			started = mono_ms();
			now(&t);
			if (write_run(m, pid, &t, restarts) < 0) {
				err.len = 0;
				buf_printf(&err, "write run.json: %s", strerror(errno));
				r = -1;
			}
		}
		if (sync >= 0) {
			if (r < 0) {
				sync_send(sync, 'E', err.p);
			} else {
				char s[32];
				snprintf(s, sizeof s, "%d", (int)pid);
				sync_send(sync, 'R', s);
			}
			/* A remover's sync stays open for its "D". */
			if (sync != m->remover)
				close(sync);
			sync = -1;
		} else if (r == 0) {
			event(m, "start", NULL);
		}
		int code;
		bool oom = false;
		char *msg = NULL;
		if (r < 0) {
			rt(m, "delete", "--force");
			release(m);
			code = 128;
			now(&t);
			msg = err.p ? strdup(err.p) : NULL;
		} else {
			if (watch_run(m) < 0)
				mlog("ERROR", "watch the container's output");
			wait_exit(m);
			now(&t);
			int st = m->init_status;
			if (m->init_lost) {
				code = 255;
				msg = strdup("wait for the container's process: no child processes");
			} else if (WIFEXITED(st)) {
				code = WEXITSTATUS(st);
			} else if (WIFSIGNALED(st)) {
				code = 128 + WTERMSIG(st);
			} else {
				code = 255;
			}
			release(m);
			if (logw_flush(&m->log) < 0)
				mlog("WARN", "flush the log of %s", m->id);
			if (!m->init_lost && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
				/* Only the OOM killer's SIGKILL matters: spare normal
				 * exits a runtime call. */
				const char *args[] = {"state", m->id, NULL};
				struct buf out = {0};
				if (runtime_call(m, args, &out, NULL) == 0)
					oom = json_oom_killed(out.p, out.len);
				buf_free(&out);
			}
		}
		bool again = should_restart(m, code, restarts);
		if (write_exit(m, code, &t, oom, msg, !again) < 0)
			mlog("ERROR", "record the exit of %s: %s", m->id, strerror(errno));
		free(msg);
		if (oom)
			event(m, "oom", NULL);
		char codes[16];
		snprintf(codes, sizeof codes, "%d", code);
		const char *die[] = {"exitCode", codes, oom ? "oomKilled" : NULL, "true", NULL};
		event(m, "die", die);
		/* After the exit is recorded, so that stop and wait return at
		 * once. An engine process that removes the container itself
		 * (m->remover) gets the exit first: its removal then runs while
		 * the runtime deletes the container here. */
		unsigned char c4[4] = {(unsigned char)((uint32_t)code >> 24), (unsigned char)((uint32_t)code >> 16),
				       (unsigned char)((uint32_t)code >> 8), (unsigned char)code};
		if (m->remover >= 0 && !again)
			broadcast(m, FRAME_EXIT, c4, 4);
		rt(m, "delete", "--force");
		if (m->remover < 0 || again)
			broadcast(m, FRAME_EXIT, c4, 4);
		if (!again) {
			buf_free(&err);
			return code;
		}
		/* Back off (100 ms doubling to a minute), from scratch after a
		 * run of ten seconds or more, as Docker. */
		if (mono_ms() - started >= 10000)
			delay = 100;
		if (backoff(m, delay)) {
			buf_free(&err);
			return code;
		}
		delay = delay * 2 > 60000 ? 60000 : delay * 2;
		restarts++;
		if (exists(m, "stop-requested")) {
			buf_free(&err);
			return code;
		}
	}
}
