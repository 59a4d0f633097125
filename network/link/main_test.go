package link

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// privateEnv marks the re-executed test binary that runs in a private
// network and mount namespace.
const privateEnv = "BERTH_LINK_TEST_PRIVATE_NETNS"

// parentNetnsEnv carries the parent's network namespace inode to the
// child, which refuses to run kernel tests if its own is the same.
const parentNetnsEnv = "BERTH_LINK_TEST_PARENT_NETNS"

// TestMain re-runs the test binary in a new network and mount namespace
// (as root), so that no test ever touches the host's links, addresses,
// routes or sysctls, and everything the tests make goes with the
// namespace. Fuzzing runs in place: the fuzz targets touch no kernel state.
func TestMain(m *testing.M) {
	if os.Getenv(privateEnv) == "1" || os.Geteuid() != 0 || fuzzing() {
		os.Exit(m.Run())
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	var st unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
		fmt.Fprintln(os.Stderr, "stat own network namespace:", err)
		os.Exit(1)
	}
	cmd.Env = append(os.Environ(), privateEnv+"=1", fmt.Sprintf("%s=%d", parentNetnsEnv, st.Ino))
	// Unshareflags with CLONE_NEWNS also makes every mount private in
	// the child before exec, so netns bind mounts never reach the host.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWNET | unix.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "re-exec in a private network namespace:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func fuzzing() bool {
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.fuzz") {
			return true
		}
	}
	return false
}

// requirePrivate skips the test unless the process runs in a network
// namespace of its own (not the parent test process's), checked by inode,
// not just by the environment variable.
func requirePrivate(t *testing.T) {
	t.Helper()
	if os.Getenv(privateEnv) != "1" {
		t.Skip("needs root (runs in a private network namespace)")
	}
	var self unix.Stat_t
	if err := unix.Stat("/proc/thread-self/ns/net", &self); err != nil {
		t.Fatal(err)
	}
	if parent := os.Getenv(parentNetnsEnv); parent == "" || parent == fmt.Sprint(self.Ino) {
		t.Fatal("refusing to run: not in a network namespace of the test's own")
	}
}
