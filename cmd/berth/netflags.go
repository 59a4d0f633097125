package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"berth/engine"
	"berth/engine/ocispec"
	"berth/network"
	"berth/network/nft"
)

// defaultNetwork is --network's default: the default network, bridge
// (berth0, NAT for outbound traffic), as Docker's.
const defaultNetwork = "bridge"

// netFlags are the networking flags of create and run.
type netFlags struct {
	publish, dns, dnsSearch, addHost, aliases []string
	publishAll                                bool
	ip                                        string
}

func (f *netFlags) register(fs *pflag.FlagSet) {
	stringArrayVarP(fs, &f.publish, "publish", "p", "publish a container's port to the host ([ip:][hostport:]port[/proto])")
	fs.BoolVarP(&f.publishAll, "publish-all", "P", false, "publish every exposed port to a free host port")
	stringArrayVarP(fs, &f.dns, "dns", "", "set a DNS server")
	stringArrayVarP(fs, &f.dnsSearch, "dns-search", "", "set a DNS search domain")
	stringArrayVarP(fs, &f.addHost, "add-host", "", "add a host-to-IP mapping (host:ip)")
	stringArrayVarP(fs, &f.aliases, "network-alias", "", "add a network-scoped alias for the container")
	fs.StringVar(&f.ip, "ip", "", "IPv4 address on a user network (e.g. 172.30.100.104)")
}

// config checks the flags and returns the engine's network configuration
// for --network mode.
func (f *netFlags) config(mode string) (*engine.NetConfig, error) {
	switch mode {
	case "", "default":
		mode = engine.NetModeBridge
	}
	if strings.HasPrefix(mode, engine.NetModeContainerPrefix) {
		if strings.TrimPrefix(mode, engine.NetModeContainerPrefix) == "" {
			return nil, fmt.Errorf("--network %s: no container named", mode)
		}
		if len(f.dns) > 0 || len(f.dnsSearch) > 0 || len(f.addHost) > 0 {
			return nil, fmt.Errorf("conflicting options: dns and the network mode")
		}
	} else if !network.IsPredefined(mode) {
		if err := network.ValidateName(mode); err != nil {
			return nil, fmt.Errorf("--network %s: %w", mode, err)
		}
	}
	n := &engine.NetConfig{Mode: mode, IP: f.ip, Aliases: f.aliases, PublishAll: f.publishAll,
		DNS: f.dns, DNSSearch: f.dnsSearch, AddHosts: f.addHost}
	for _, p := range f.publish {
		ms, err := nft.ParsePortSpec(p)
		if err != nil {
			return nil, fmt.Errorf("--publish %s: %w", p, err)
		}
		n.Ports = append(n.Ports, ms...)
	}
	if mode == engine.NetModeHost && (len(n.Ports) > 0 || n.PublishAll) {
		fmt.Fprintln(os.Stderr, "WARNING: Published ports are discarded when using host network mode")
	}
	for _, d := range f.dns {
		if !ocispec.ValidDNSServer(d) {
			return nil, fmt.Errorf("--dns %q: not an IP address", d)
		}
	}
	for _, d := range f.dnsSearch {
		if !ocispec.ValidSearchDomain(d) {
			return nil, fmt.Errorf("--dns-search %q: not a domain name", d)
		}
	}
	for _, h := range f.addHost {
		if _, _, ok := ocispec.SplitAddHost(h); !ok {
			return nil, fmt.Errorf("--add-host %s: invalid argument: want host:ip", h)
		}
	}
	if f.ip != "" {
		a, err := netip.ParseAddr(f.ip)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("--ip %s: not an IPv4 address", f.ip)
		}
	}
	return n, nil
}
