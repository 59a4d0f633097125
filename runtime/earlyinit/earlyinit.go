// Package earlyinit links into berth-runtime a C constructor that starts
// the container's init, for `run --early-init` and `create --early-init`,
// before the Go runtime starts (earlyinit.c); Take hands it to the
// runtime's Go side.
package earlyinit

// #cgo CFLAGS: -O2 -Wall -Wextra -Werror -I${SRCDIR}/../internal/cargs
// #include <stdlib.h>
// #include "earlyinit.h"
// static const char *protocol(void) { return BERTH_INIT_PROTOCOL; }
import "C"

import (
	"os"

	"berth/runtime/internal/cargs"
)

// Flags are the namespaces (CLONE_NEW*) the constructor clones an early
// init into.
const Flags = uintptr(C.BERTH_EARLY_FLAGS)

// Protocol is the init protocol version the constructor tells init.
func Protocol() string { return C.GoString(C.protocol()) }

// Take returns the init the constructor started, once: its pid (a child
// of this process) and the runtime's end of its socket; ok is false when
// it started none.
func Take() (pid int, sock *os.File, ok bool) {
	var p, s C.int
	if C.berth_earlyinit_take(&p, &s) == 0 {
		return 0, nil, false
	}
	return int(p), os.NewFile(uintptr(s), "init socket"), true
}

// wants reports whether the constructor starts an init for args (argv,
// program name first); the tests use it.
func wants(args []string) bool {
	argv, free := cargs.Argv(args)
	defer free()
	return C.berth_earlyinit_wants(C.int(len(args)), (**C.char)(argv)) != 0
}
