package link

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// SetHairpin turns hairpin mode on or off on the bridge port hostIfName
// (the host end of a container's veth), in the calling thread's network
// namespace: with it the bridge sends a frame back out of the port it
// came in on, which a container reaching its own published port needs
// once br_netfilter DNATs the frame back to the container.
func SetHairpin(hostIfName string, on bool) error {
	l, err := netlink.LinkByName(hostIfName)
	if err != nil {
		return fmt.Errorf("hairpin on %s: %w", hostIfName, err)
	}
	if err := netlink.LinkSetHairpin(l, on); err != nil {
		return fmt.Errorf("hairpin on %s: %w", hostIfName, err)
	}
	return nil
}
