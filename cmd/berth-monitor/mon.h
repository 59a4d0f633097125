/* berth-monitor: the per-container monitor of berth's engine, in C so that
 * an idle container costs little memory. One job per file:
 *   main.c     command line, set-up, the end (exit command)
 *   run.c      the container's lifecycle: create, start, wait, restart
 *   loop.c     the epoll loop: output, reaping, attach clients
 *   attach.c   attach clients and their frames, the container's stdin
 *   frame.c    the attach frames' parser (and its --frame-test mode)
 *   proc.c     running the OCI runtime and other commands
 *   log.c      the json-file log (as engine/logs's Writer)
 *   json.c     JSON strings, times, atomic files, runtime state
 *   events.c   the engine's events log
 *   util.c     growable buffers, monitor.log
 */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* util.c: a growable byte buffer. */
struct buf {
	char *p;
	size_t len, cap;
};
int buf_reserve(struct buf *b, size_t n);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
void buf_shrink(struct buf *b, size_t keep);

void mlog_open(int dirfd);
void mlog(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t mono_ms(void);
int write_all(int fd, const void *p, size_t n);
ssize_t read_line(int fd, char *line, size_t cap);

/* json.c */
enum { JSON_DOCKER = 0, JSON_GO = 1 };
int json_string(struct buf *b, const void *s, size_t n, int style);
int json_time(struct buf *b, const struct timespec *t);
int write_file_at(int dirfd, const char *name, const struct buf *b);
bool json_oom_killed(const char *s, size_t n);

/* log.c: engine/logs's Writer. */
#define LOG_MAX_LINE (16 << 10)
struct pending {
	struct buf b;
	struct timespec t;
	bool in_line;
};
struct logw {
	char *path;
	long long max_size;
	int max_files;
	int fd;
	long long size;
	struct buf out;
	struct pending st[2];
	bool closed;
	bool have_ts;
	struct timespec ts_for;
	struct buf ts;
};
int logw_open(struct logw *w, const char *path, long long max_size, int max_files);
int logw_write(struct logw *w, int stream, const void *p, size_t n, const struct timespec *t);
int logw_flush(struct logw *w);
void logw_close(struct logw *w);

/* The attach frames of engine/monitor/attach.go. */
enum { FRAME_STDIN = 0, FRAME_STDOUT = 1, FRAME_STDERR = 2, FRAME_RESIZE = 3, FRAME_EXIT = 4 };
#define MAX_FRAME (1u << 20)
/* BACKLOG is how much output a client may have queued before the monitor
 * stops reading the container's output. */
#define BACKLOG (1u << 20)

/* frame.c */
typedef void (*frame_fn)(void *arg, int kind, const unsigned char *p, size_t n);
long frames_parse(const unsigned char *p, size_t n, frame_fn fn, void *arg);
int frame_test(int argc, char **argv);

struct client {
	int fd;
	uint32_t id;     /* its key in epoll: a closed fd's number is reused */
	uint32_t events; /* as registered with epoll */
	bool closing;    /* read side ended: flush what is queued, then close */
	struct buf out;  /* frames not yet sent */
	size_t off;      /* sent part of out */
	struct buf in;   /* partial frame received */
	struct client *next;
};

struct label {
	char *key, *value;
};

/* rtrun is a runtime `run --detach` started and not yet waited for:
 * its pid, the pipes of the container's stdio (the runtime's ends closed
 * once started), and, when it waits for the go-ahead, the socket that
 * gives it and brings back its 'R' (go, -1 otherwise). */
struct rtrun {
	pid_t pid;
	int in[2], o[2], e[2];
	int go;
	char pidfile[4096];
};

struct mon {
	/* configuration (the command line) */
	const char *id, *dir, *runtime, *runtime_root, *restart;
	const char *rundir; /* the volatile files' directory (dirfd) */
	const char *events, *name, *image;
	struct label *labels;
	size_t nlabels;
	char **exitcmd;
	size_t nexitcmd;
	bool tty, open_stdin;
	bool prestart; /* the runtime takes --wait-fd: start it early */
	bool early_init; /* and --early-init: it starts init early too */
	bool wait_record; /* make nothing before the engine's "P NAME" */
	long long log_max_size, log_max_files, max_retries;

	int dirfd, epfd, sigfd, lnfd; /* dirfd: rundir */
	int cdirfd;                   /* dir: exit.json, which outlives a reboot */
	uint32_t ln_ev; /* 0 while out of descriptors: accept is retried later */
	struct logw log;
	struct client *clients;
	uint32_t client_ids; /* the last client id given */

	/* the current run */
	int out[2];      /* stdout and stderr (a pty: out[0] only), or -1 */
	uint32_t out_ev[2];
	int in_fd;       /* the container's stdin (pipe or a dup of the pty) */
	uint32_t in_ev;
	struct buf in_q; /* stdin not yet written */
	bool in_close;   /* close stdin once in_q is written */
	bool in_full;    /* in_q is over BACKLOG: clients are not read */
	bool paused;     /* a client's backlog is over BACKLOG */
	pid_t init_pid;
	bool init_done, init_lost;
	int init_status;
	int64_t progress_ms; /* last time a client took output */
	pid_t reaped[16];    /* children reaped before they were known */
	int reaped_status[16];
	unsigned nreaped;
	/* remover: the handshake socket, kept open when the engine said,
	 * with its "S <pid>", that it removes the container itself once it
	 * exits (a foreground `run --rm`); -1 if none. The exit command waits
	 * for its "D" (done) or its end (not done). */
	int remover;
	/* the runtime of the first start, when prestarted */
	struct rtrun pre;
};

/* loop.c */
int loop_init(struct mon *m);
int loop_poll(struct mon *m, int timeout_ms);
void reap_all(struct mon *m);
int watch_fd(struct mon *m, int fd, uint32_t kind, uint32_t events);
int watch_key(struct mon *m, int fd, uint32_t kind, uint32_t key, uint32_t events);
void set_events(struct mon *m, int fd, uint32_t kind, uint32_t *cur, uint32_t want);
void set_events_key(struct mon *m, int fd, uint32_t kind, uint32_t key, uint32_t *cur, uint32_t want);
void unwatch_fd(struct mon *m, int fd);
enum { K_SIG = 1, K_LISTEN, K_OUT0, K_OUT1, K_IN, K_CLIENT };

/* attach.c */
int attach_listen(struct mon *m);
int listen_in(int dirfd, const char *name);
void attach_accept(struct mon *m);
void accept_resume(struct mon *m);
void client_event(struct mon *m, struct client *c, uint32_t ev);
struct client *client_by_id(struct mon *m, uint32_t id);
void broadcast(struct mon *m, int kind, const void *p, size_t n);
size_t max_backlog(struct mon *m);
void update_pause(struct mon *m);
void stdin_event(struct mon *m, uint32_t ev);
void stdin_release(struct mon *m);
void clients_finish(struct mon *m, int timeout_ms);

/* proc.c */
pid_t spawn(char *const argv[], int in, int out, int err);
pid_t spawn_fd3(char *const argv[], int in, int out, int err, int fd3);
int runtime_call(struct mon *m, const char *const *args, struct buf *out, struct buf *err);
int runtime_create(struct mon *m, pid_t *pid, struct buf *err);
void runtime_prestart(struct mon *m);
void runtime_call_off(struct mon *m);
int run_wait(pid_t pid);

/* run.c */
int run_loop(struct mon *m, int sync);
bool removed_by_engine(struct mon *m, int timeout_ms);

/* events.c */
void event(struct mon *m, const char *action, const char *const *extra);

#endif
