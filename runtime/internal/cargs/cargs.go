// Package cargs holds what berth-runtime's C constructors share: cargs.h,
// their reading of the command line (compiled into each constructor's
// package), and Argv, with which their tests call them.
package cargs

// #include <stdlib.h>
import "C"

import "unsafe"

// Argv returns args as a C argv (char **, NULL-terminated, in C memory)
// for a constructor's function, and the function that frees it.
func Argv(args []string) (argv unsafe.Pointer, free func()) {
	n := len(args) + 1
	p := (**C.char)(C.malloc(C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	s := unsafe.Slice(p, n)
	for i, a := range args {
		s[i] = C.CString(a)
	}
	s[len(args)] = nil
	return unsafe.Pointer(p), func() {
		for _, c := range s[:len(args)] {
			C.free(unsafe.Pointer(c))
		}
		C.free(unsafe.Pointer(p))
	}
}
