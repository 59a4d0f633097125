// cgprime starts, before the Go runtime does, the wait the kernel makes the
// first move into a cgroup pay: cgroup_threadgroup_rwsem leaves its fast
// path through an RCU grace period (8 ms or more on some hosts) on the first
// write to a cgroup.procs after a quiet spell, and writes within a grace
// period after it are fast. For `create` and `run` only, a thread of its own
// moves the process into the cgroup it is already in (a no-op the kernel
// still takes the lock for), so the grace period runs while the Go runtime
// starts and the config is read, not when the container's init must be
// placed. It does nothing in the container's init (_BERTH_INITPIPE set),
// with --preserve-fds or with a standard descriptor closed, and moves
// nothing when it cannot place its own cgroup exactly.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cargs.h"

// berth_cgprime_creates reports whether argv names the create or run
// command, skipping the global flags that take a value (as cobra reads
// them). A command line with --preserve-fds is left alone: the runtime
// checks that descriptors 3 and up are the caller's, and the file this
// thread holds open must not be taken for one of them.
int berth_cgprime_creates(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (berth_is_flag(argv[i], "--preserve-fds"))
			return 0;
	return berth_creates(argv, berth_command(argc, argv));
}

// own_cgroup finds the process's cgroup in the hierarchy named by want
// ("" for cgroup v2, "name=systemd") in /proc/self/cgroup.
static int own_cgroup(const char *want, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (f == NULL)
		return -1;
	char line[4096];
	int found = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL)
			continue;
		*c2 = '\0';
		if (strcmp(c1 + 1, want) != 0)
			continue;
		char *p = c2 + 1;
		p[strcspn(p, "\n")] = '\0';
		if (strlen(p) + 1 > len)
			break;
		strcpy(out, p);
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

// berth_cgprime_find finds in the mountinfo text f the first hierarchy
// without controllers, cgroup2 or v1's name=systemd (*want "" or
// "name=systemd"): its mountpoint and the cgroup path mounted there. It
// reads no further: the kernel makes mountinfo's lines as they are read,
// and the containers' mounts come after the hierarchies'. Paths with
// escapes are not handled (-1).
int berth_cgprime_find(FILE *f, const char **want, char *mnt, char *root, size_t len)
{
	char line[4096];
	while (fgets(line, sizeof line, f) != NULL) {
		char *sep = strstr(line, " - ");
		if (sep == NULL)
			continue;
		*sep = '\0';
		char *fields[5];
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		int n = 0;
		for (; tok != NULL && n < 5; tok = strtok_r(NULL, " ", &save))
			fields[n++] = tok;
		if (n < 5)
			continue;
		char *post = sep + 3;
		char *fstype = strtok_r(post, " ", &save);
		char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
		char *opts = source ? strtok_r(NULL, " \n", &save) : NULL;
		if (opts == NULL)
			continue;
		const char *w = NULL;
		if (strcmp(fstype, "cgroup2") == 0) {
			w = "";
		} else if (strcmp(fstype, "cgroup") == 0) {
			char *o, *osave = NULL;
			for (o = strtok_r(opts, ",", &osave); o != NULL; o = strtok_r(NULL, ",", &osave))
				if (strcmp(o, "name=systemd") == 0)
					w = "name=systemd";
		}
		if (w == NULL)
			continue;
		if (strchr(fields[3], '\\') || strchr(fields[4], '\\') ||
		    strlen(fields[3]) + 1 > len || strlen(fields[4]) + 1 > len)
			return -1;
		strcpy(root, fields[3]);
		strcpy(mnt, fields[4]);
		*want = w;
		return 0;
	}
	return -1;
}

// prime moves the process into its own cgroup of the hierarchy named by
// want, mounted at mnt with root mounted there; -1 when its own cgroup is
// not placed exactly.
static int prime(const char *want, const char *mnt, const char *root)
{
	char own[1024], path[3200];
	if (own_cgroup(want, own, sizeof own) < 0)
		return -1;
	// own relative to the part of the hierarchy mounted at mnt.
	const char *rel = own;
	if (strcmp(root, "/") != 0) {
		size_t rl = strlen(root);
		if (strncmp(own, root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
			return -1;
		rel = own + rl;
	}
	if (snprintf(path, sizeof path, "%s%s/cgroup.procs", mnt, rel) >= (int)sizeof path)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	// "0" is the writer itself: a no-op move into its own cgroup.
	ssize_t n = write(fd, "0", 1);
	close(fd);
	return n == 1 ? 0 : -1;
}

static void *prime_thread(void *arg)
{
	(void)arg;
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return NULL;
	const char *want;
	char mnt[1024], root[1024];
	int found = berth_cgprime_find(f, &want, mnt, root, sizeof mnt);
	fclose(f);
	if (found == 0)
		(void)prime(want, mnt, root);
	return NULL;
}

__attribute__((constructor))
static void cgprime(int argc, char **argv)
{
	const char *env = getenv("_BERTH_INITPIPE");
	if ((env != NULL && *env != '\0') || !berth_cgprime_creates(argc, argv))
		return;
	// A closed standard descriptor is the lowest free number: the
	// thread's files would take it while the Go runtime checks 0-2 and
	// opens /dev/null on the closed ones, which then either finds the
	// thread's file there (and a later file of the runtime becomes the
	// container's stdin) or aborts. Leave such a start alone.
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return;
	// The thread takes no signal: they are the Go runtime's to handle.
	sigset_t all, old;
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return;
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) == 0) {
		pthread_t t;
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		(void)pthread_create(&t, &attr, prime_thread, NULL);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
