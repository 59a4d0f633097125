package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"berth/engine/monitor"
	"berth/internal/config"
	"berth/network"
	"berth/network/link"
	"berth/network/nft"
)

// Network modes of NetConfig.Mode besides a network's name.
const (
	NetModeNone   = "none"
	NetModeHost   = "host"
	NetModeBridge = "bridge" // the default network
	// NetModeContainerPrefix joins another container's namespace
	// ("container:<name|id>").
	NetModeContainerPrefix = "container:"
)

// netStateFile records, in the container's directory, what the engine
// set up for the container's current run (address, chosen host ports).
const netStateFile = "network.json"

// NetConfig is a container's networking as created (--network, -p, ...).
type NetConfig struct {
	// Mode is none, host, bridge (the default network), a user network's
	// name, or container:<id>.
	Mode string `json:"Mode"`
	// IP is --ip (a fixed address on a user network).
	IP string `json:"IP,omitempty"`
	// Aliases are --network-alias values.
	Aliases []string `json:"Aliases,omitempty"`
	// Ports are -p values (and -P's exposed ports), host ports as asked.
	Ports []nft.PortMapping `json:"Ports,omitempty"`
	// PublishAll is -P: every port the image exposes, on a free host port.
	PublishAll bool `json:"PublishAllPorts,omitempty"`
	// DNS, DNSSearch and AddHosts are --dns, --dns-search and --add-host.
	DNS       []string `json:"Dns,omitempty"`
	DNSSearch []string `json:"DnsSearch,omitempty"`
	AddHosts  []string `json:"ExtraHosts,omitempty"`
	// Extra are the networks joined with `network connect`, in order: the
	// container's interfaces eth1, eth2, ... at each start.
	Extra []NetAttachment `json:"Extra,omitempty"`
}

// NetAttachment is one network a container joined with `network connect`.
type NetAttachment struct {
	// Network is the network's ID; Name its name, for messages.
	Network string `json:"Network"`
	Name    string `json:"Name"`
	// IP is connect's --ip; Aliases its --alias values.
	IP      string   `json:"IP,omitempty"`
	Aliases []string `json:"Aliases,omitempty"`
}

// managed says the engine gives the container a namespace of its own
// with an interface on a berth network.
func (n *NetConfig) managed() bool {
	if n == nil {
		return false
	}
	switch {
	case n.Mode == NetModeNone, n.Mode == NetModeHost, n.Mode == "",
		strings.HasPrefix(n.Mode, NetModeContainerPrefix):
		return false
	}
	return true
}

// NetState is what the engine set up for a container's run, as inspect
// and `port` show it.
type NetState struct {
	Network   string            `json:"Network"`
	NetworkID string            `json:"NetworkID"`
	Bridge    string            `json:"Bridge"`
	IP        netip.Addr        `json:"IP"`
	PrefixLen int               `json:"PrefixLen"`
	Gateway   netip.Addr        `json:"Gateway"`
	MAC       string            `json:"MacAddress"`
	HostIf    string            `json:"HostIf"`
	Aliases   []string          `json:"Aliases,omitempty"`
	Ports     []nft.PortMapping `json:"Ports,omitempty"`
	// IfName is the interface in the container ("eth0" when empty).
	IfName string `json:"IfName,omitempty"`
	// Others are the interfaces on the networks of NetConfig.Extra.
	Others []NetState `json:"Others,omitempty"`
}

// All returns the container's interfaces: s first, then s.Others.
func (s *NetState) All() []*NetState {
	out := []*NetState{s}
	for i := range s.Others {
		out = append(out, &s.Others[i])
	}
	return out
}

// NetworkState returns what the engine set up for the container's current
// or last run; nil when it has no network of its own set up.
func (e *Engine) NetworkState(c *Container) *NetState {
	b, err := os.ReadFile(filepath.Join(e.dir(c.ID), netStateFile))
	if err != nil {
		return nil
	}
	var st NetState
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

// NetnsPath is where the container's network namespace is kept.
func (e *Engine) NetnsPath(id string) string {
	return filepath.Join(e.root, "netns", id)
}

// Networks opens the network store of the engine's root, with the address
// pools of berth's configuration file.
func (e *Engine) Networks() (*network.Store, error) {
	cfg, err := config.Load(config.Path())
	if err != nil {
		return nil, err
	}
	return network.Open(e.root, network.Options{Pools: cfg.AddressPools})
}

// createNetwork checks the container's networking at create and returns
// the network namespace config.json names: a path under <root>/netns for
// a berth network, the other container's for container:<x>.
func (e *Engine) createNetwork(id string, n *NetConfig, exposed map[string]struct{}) (string, error) {
	if n == nil {
		return "", nil
	}
	if n.PublishAll {
		ports, err := exposedPorts(exposed)
		if err != nil {
			return "", err
		}
		n.Ports = append(n.Ports, ports...)
	}
	if len(n.Ports) > 0 && !n.managed() {
		if n.Mode == NetModeHost || n.Mode == NetModeNone || n.Mode == "" {
			// Docker ignores them with the host's network, and so does berth.
			n.Ports = nil
		}
	}
	switch {
	case n.Mode == "" || n.Mode == NetModeNone:
		return "", nil
	case n.Mode == NetModeHost:
		return "host", nil
	case strings.HasPrefix(n.Mode, NetModeContainerPrefix):
		ref := strings.TrimPrefix(n.Mode, NetModeContainerPrefix)
		other, err := e.lookupQuiet(ref)
		if err != nil {
			return "", fmt.Errorf("--network %s: %w", n.Mode, err)
		}
		if !other.Net.managed() {
			return "", fmt.Errorf("--network %s: container %s has no network namespace of berth's to join", n.Mode, other.Name)
		}
		if len(n.Ports) > 0 {
			return "", errors.New("conflicting options: port publishing and the container type network mode")
		}
		n.Mode = NetModeContainerPrefix + other.ID
		return e.NetnsPath(other.ID), nil
	}
	st, err := e.Networks()
	if err != nil {
		return "", err
	}
	rec, err := st.Get(n.Mode)
	if n.Mode == NetModeBridge {
		rec, err = st.Default()
	}
	if err != nil {
		return "", fmt.Errorf("network %s: %w", n.Mode, err)
	}
	if n.IP != "" {
		if n.Mode == NetModeBridge || !rec.UserSubnet {
			return "", errors.New("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
	}
	if n.Mode == NetModeBridge && len(n.Aliases) > 0 {
		return "", errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	return e.NetnsPath(id), nil
}

// lookupQuiet finds a container by name, ID or ID prefix.
func (e *Engine) lookupQuiet(ref string) (*Container, error) {
	return e.Lookup(context.Background(), ref)
}

// writeNetState records st in the container's directory.
func writeNetState(dir string, st *NetState) error {
	return monitor.WriteJSON(dir, netStateFile, st)
}

// exposedPorts are -P's mappings: each port the image exposes ("80/tcp",
// "53/udp", "8000-8002/tcp") to a free host port.
func exposedPorts(exposed map[string]struct{}) ([]nft.PortMapping, error) {
	keys := make([]string, 0, len(exposed))
	for k := range exposed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []nft.PortMapping
	for _, k := range keys {
		ms, err := nft.ParsePortSpec(k)
		if err != nil {
			return nil, fmt.Errorf("the image's exposed port %q: %w", k, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// startNetwork sets up the container's networking before its monitor
// starts: a berth network's namespace and interface, or, for the other
// modes, the hosts and resolv.conf files of --add-host and --dns.
func (e *Engine) startNetwork(c *Container) error {
	if c.Net == nil {
		return nil
	}
	if other, ok := strings.CutPrefix(c.Net.Mode, NetModeContainerPrefix); ok {
		if ok, _ := link.IsNetns(e.NetnsPath(other)); !ok {
			return fmt.Errorf("cannot join network namespace of container %s: it is not running", other[:min(12, len(other))])
		}
		return nil
	}
	if !c.Net.managed() {
		return e.writeNetFiles(c, nil, nil)
	}
	return e.setupNetwork(c)
}

// stopNetwork takes down the container's networking once it has ended
// for good (or its start failed).
func (e *Engine) stopNetwork(c *Container) { e.teardownNetwork(c) }

// netExitCommand is the command the monitor runs when a container with a
// berth network ends for good (the monitor appends the container's ID):
// it releases the network even when no berth command is running, as
// Podman's conmon runs `podman container cleanup`.
func (e *Engine) netExitCommand() []string {
	return append(e.selfCommand(), "container", "cleanup")
}

// CleanupNetwork releases the network of a container that has ended for
// good (`berth container cleanup`, the monitor's exit command); a
// container that runs again (started meanwhile) keeps it.
func (e *Engine) CleanupNetwork(ctx context.Context, ref string) error {
	c, unlock, err := e.lookupLocked(ctx, ref)
	if err != nil {
		return err
	}
	defer unlock()
	if c.State.Running || c.State.Restarting {
		return nil
	}
	e.teardownNetwork(c)
	return nil
}
