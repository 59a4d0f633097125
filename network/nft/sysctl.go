package nft

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnableRouteLocalnet sets net.ipv4.conf.<bridge>.route_localnet=1 in the
// calling thread's network namespace, for that bridge only: the kernel
// then routes 127.0.0.1-sourced packets that a published port's DNAT sent
// to a container out through the bridge (the "loopback" masquerade rule
// gives them a real source address).
func EnableRouteLocalnet(bridge string) error {
	if err := validIfname(bridge); err != nil {
		return err
	}
	if bridge == "all" || bridge == "default" {
		// Those are the host-wide entries, not an interface.
		return fmt.Errorf("enable route_localnet: %q is not a bridge name", bridge)
	}
	p := filepath.Join("/proc/sys/net/ipv4/conf", bridge, "route_localnet")
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enable route_localnet on %s: %w", bridge, err)
	}
	return nil
}
