#ifndef BERTH_EARLYINIT_H
#define BERTH_EARLYINIT_H

#include <linux/sched.h>

// The namespaces an early init is cloned into: the new ones of the
// runtime's default spec but the cgroup namespace, which init makes
// itself once it is in its cgroup.
#define BERTH_EARLY_FLAGS (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS)

// The init protocol (runtime/initproc.Protocol).
#define BERTH_INIT_PROTOCOL "3"

int berth_earlyinit_wants(int argc, char **argv);
int berth_earlyinit_take(int *pid, int *sock);

#endif
