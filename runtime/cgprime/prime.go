// Package cgprime links into berth-runtime a C constructor that, for the
// create and run commands, starts the kernel's wait before a first move
// into a cgroup while the Go runtime starts (prime.c). Import it for that
// effect only.
package cgprime

// #cgo CFLAGS: -O2 -Wall -Wextra -Werror -I${SRCDIR}/../internal/cargs
// #cgo LDFLAGS: -lpthread
// #include <stdlib.h>
// int berth_cgprime_creates(int argc, char **argv);
import "C"

import "unsafe"

// creates reports whether the constructor takes args (argv, program name
// first) for a create or run command; the tests use it.
func creates(args []string) bool {
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv[:len(args)] {
			C.free(unsafe.Pointer(p))
		}
	}()
	cargv := (**C.char)(C.malloc(C.size_t(len(argv)) * C.size_t(unsafe.Sizeof(argv[0]))))
	defer C.free(unsafe.Pointer(cargv))
	copy(unsafe.Slice(cargv, len(argv)), argv)
	return C.berth_cgprime_creates(C.int(len(args)), cargv) != 0
}
