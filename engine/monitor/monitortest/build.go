// Package monitortest builds the C monitor (cmd/berth-monitor) for tests,
// as the Makefile does, so that tests run from a fresh clone with only a
// C compiler besides Go.
package monitortest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Source returns the directory of the monitor's C sources.
func Source() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("monitortest: no source path (built with -trimpath?)")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "cmd", "berth-monitor"), nil
}

// Build compiles the monitor into dst with $CC (cc by default).
func Build(dst string) error {
	src, err := Source()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.c"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("monitortest: no C sources in %s", src)
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	cmd := exec.Command(cc, append([]string{"-O2", "-Wall", "-Wextra", "-Werror", "-o", dst}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("build the monitor: %v: %s", err, out)
	}
	return nil
}
