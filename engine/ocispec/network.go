package ocispec

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// network sets the container's network namespace: "" (or "none") a new
// one with only loopback, "host" the host's (no namespace entry), an
// absolute path one to join (a namespace another container or a network
// helper made).
func network(s *specs.Spec, netns string) error {
	var ns []specs.LinuxNamespace
	for _, n := range s.Linux.Namespaces {
		if n.Type != specs.NetworkNamespace {
			ns = append(ns, n)
		}
	}
	switch {
	case netns == "" || netns == "none":
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	case netns == "host":
	case filepath.IsAbs(netns):
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: filepath.Clean(netns)})
	default:
		return fmt.Errorf("network namespace %q: want \"\", \"host\" or an absolute path", netns)
	}
	s.Linux.Namespaces = ns
	return nil
}
