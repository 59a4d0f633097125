// Package cbuild compiles berth's C programs (cmd/berth-monitor,
// cmd/berth-init) for tests as the Makefile does, so that tests run from
// a fresh clone with only a C compiler besides Go.
package cbuild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Source returns the directory of program's C sources (cmd/<program>).
func Source(program string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cbuild: no source path (built with -trimpath?)")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "cmd", program), nil
}

// Build compiles program ("berth-monitor", "berth-init") into dst with
// $CC (cc by default). berth-init is linked statically: it runs inside
// containers, whose filesystem may have no C library.
func Build(dst, program string) error {
	src, err := Source(program)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("cbuild: no C sources in %s", src)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	args := []string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", dst}
	if program == "berth-init" {
		args = append(args, "-static")
	}
	out, err := exec.Command(cc, append(args, files...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("build %s: %v: %s", program, err, out)
	}
	return nil
}
