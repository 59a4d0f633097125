package link

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// MaxNameLen is the longest interface name the kernel accepts (IFNAMSIZ-1).
const MaxNameLen = 15

// errBadName is wrapped by every name validation error.
var errBadName = errors.New("invalid interface name")

// ValidateName reports whether name may be used as a network interface
// name. It is stricter than the kernel: printable ASCII only, and no '%'
// (which the kernel would expand as a template such as "eth%d").
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", errBadName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w %q: longer than %d bytes", errBadName, name, MaxNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%w %q", errBadName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '%' {
			return fmt.Errorf("%w %q: character %q not allowed", errBadName, name, c)
		}
	}
	return nil
}

// HostVethName returns a random name for the host end of a veth pair,
// shaped like Docker's: "veth" and 7 hex digits.
func HostVethName() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random veth name: %w", err)
	}
	return "veth" + hex.EncodeToString(b[:])[:7], nil
}

// ContainerIfName returns the name of the n-th interface in a container:
// eth0, eth1, ...
func ContainerIfName(n int) (string, error) {
	if n < 0 || n > 9999 {
		return "", fmt.Errorf("container interface index %d out of range", n)
	}
	return fmt.Sprintf("eth%d", n), nil
}
