// Package cgprime links into berth-runtime a C constructor that, for the
// create and run commands, starts the kernel's wait before a first move
// into a cgroup while the Go runtime starts (prime.c). Import it for that
// effect only.
package cgprime

// #cgo CFLAGS: -O2 -Wall -Wextra -Werror -I${SRCDIR}/../internal/cargs
// #cgo LDFLAGS: -lpthread
// #include <stdio.h>
// #include <stdlib.h>
// int berth_cgprime_creates(int argc, char **argv);
// int berth_cgprime_find(FILE *f, const char **want, char *mnt, char *root, size_t len);
import "C"

import (
	"unsafe"

	"berth/runtime/internal/cargs"
)

// creates reports whether the constructor takes args (argv, program name
// first) for a create or run command; the tests use it.
func creates(args []string) bool {
	argv, free := cargs.Argv(args)
	defer free()
	return C.berth_cgprime_creates(C.int(len(args)), (**C.char)(argv)) != 0
}

// find is berth_cgprime_find on the mountinfo text mountinfo; the tests
// use it.
func find(mountinfo string) (want, mnt, root string, ok bool) {
	text := C.CString(mountinfo)
	defer C.free(unsafe.Pointer(text))
	mode := C.CString("r")
	defer C.free(unsafe.Pointer(mode))
	f := C.fmemopen(unsafe.Pointer(text), C.size_t(len(mountinfo)), mode)
	if f == nil {
		return "", "", "", false
	}
	defer C.fclose(f)
	var w *C.char
	var m, r [1024]C.char
	if C.berth_cgprime_find(f, &w, &m[0], &r[0], C.size_t(len(m))) != 0 {
		return "", "", "", false
	}
	return C.GoString(w), C.GoString(&m[0]), C.GoString(&r[0]), true
}
