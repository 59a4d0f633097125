package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"berth/engine"
	"berth/network/nft"
)

// newContainerCleanupCommand is `berth container cleanup ID`, hidden: the
// monitor runs it when a container with a berth network ends for good,
// to release its address, ports and namespace.
func newContainerCleanupCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "cleanup CONTAINER",
		Short:  "release the network of a container that has ended (run by its monitor)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			return e.CleanupNetwork(cmd.Context(), args[0])
		},
	}
}

func newPortCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "list a container's published ports",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.openEngine(cmd.Context())
			if err != nil {
				return err
			}
			defer e.Close()
			c, err := e.Lookup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var ports []nft.PortMapping
			if c.State.Running || c.State.Restarting {
				if st := e.NetworkState(c); st != nil {
					ports = st.Ports
				}
			}
			sortPorts(ports)
			if len(args) == 1 {
				for _, p := range ports {
					fmt.Fprintf(cmd.OutOrStdout(), "%d/%s -> %s\n", p.ContainerPort, p.Proto, hostAddr(p))
				}
				return nil
			}
			port, proto, _ := strings.Cut(args[1], "/")
			if proto == "" {
				proto = "tcp"
			}
			n, err := strconv.ParseUint(port, 10, 16)
			if err != nil {
				return fmt.Errorf("invalid port %q", args[1])
			}
			found := false
			for _, p := range ports {
				if uint64(p.ContainerPort) == n && p.Proto == proto {
					fmt.Fprintln(cmd.OutOrStdout(), hostAddr(p))
					found = true
				}
			}
			if !found {
				return statusError{1, fmt.Errorf("no public port '%s' published for %s", args[1], args[0])}
			}
			return nil
		},
	}
}

// hostAddr is a published port's host side, "0.0.0.0:8080".
func hostAddr(p nft.PortMapping) string {
	ip := "0.0.0.0"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return ip + ":" + strconv.Itoa(int(p.HostPort))
}

// sortPorts orders ports as Docker lists them: by container port, then
// protocol, then host port.
func sortPorts(ports []nft.PortMapping) {
	sort.SliceStable(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.ContainerPort != b.ContainerPort {
			return a.ContainerPort < b.ContainerPort
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.HostPort < b.HostPort
	})
}

// psPorts is ps' PORTS column, as Docker's: "0.0.0.0:8080->80/tcp, ...".
func psPorts(e *engine.Engine, c *engine.Container) string {
	if !c.State.Running && !c.State.Restarting {
		return ""
	}
	st := e.NetworkState(c)
	if st == nil {
		return ""
	}
	ports := append([]nft.PortMapping(nil), st.Ports...)
	sortPorts(ports)
	var parts []string
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("%s->%d/%s", hostAddr(p), p.ContainerPort, p.Proto))
	}
	return strings.Join(parts, ", ")
}

// portBinding is one host side of a port in inspect, as Docker's.
type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// netHostConfig is the networking part of inspect's HostConfig.
type netHostConfig struct {
	NetworkMode     string                   `json:"NetworkMode"`
	PortBindings    map[string][]portBinding `json:"PortBindings"`
	PublishAllPorts bool                     `json:"PublishAllPorts"`
	DNS             []string                 `json:"Dns"`
	DNSSearch       []string                 `json:"DnsSearch"`
	ExtraHosts      []string                 `json:"ExtraHosts"`
}

// endpointSettings is one network of inspect's NetworkSettings.Networks.
type endpointSettings struct {
	Aliases     []string `json:"Aliases"`
	NetworkID   string   `json:"NetworkID"`
	EndpointID  string   `json:"EndpointID"`
	Gateway     string   `json:"Gateway"`
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	MacAddress  string   `json:"MacAddress"`
}

// networkSettings is inspect's NetworkSettings, with the fields berth has.
type networkSettings struct {
	SandboxKey  string                       `json:"SandboxKey"`
	Ports       map[string][]portBinding     `json:"Ports"`
	Gateway     string                       `json:"Gateway"`
	IPAddress   string                       `json:"IPAddress"`
	IPPrefixLen int                          `json:"IPPrefixLen"`
	MacAddress  string                       `json:"MacAddress"`
	Networks    map[string]*endpointSettings `json:"Networks"`
}

// inspectNetwork returns inspect's HostConfig (networking part) and
// NetworkSettings for c.
func inspectNetwork(e *engine.Engine, c *engine.Container) (netHostConfig, networkSettings) {
	hc := netHostConfig{NetworkMode: "none", PortBindings: map[string][]portBinding{}}
	ns := networkSettings{Ports: map[string][]portBinding{}, Networks: map[string]*endpointSettings{}}
	n := c.Net
	if n == nil {
		return hc, ns
	}
	hc.NetworkMode, hc.PublishAllPorts = n.Mode, n.PublishAll
	hc.DNS, hc.DNSSearch, hc.ExtraHosts = n.DNS, n.DNSSearch, n.AddHosts
	for _, p := range n.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		b := portBinding{}
		if p.HostIP.IsValid() {
			b.HostIP = p.HostIP.String()
		}
		if p.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(p.HostPort))
			if p.HostPortEnd > p.HostPort {
				b.HostPort += "-" + strconv.Itoa(int(p.HostPortEnd))
			}
		}
		hc.PortBindings[key] = append(hc.PortBindings[key], b)
	}
	// The networks configured, with empty addresses while it does not
	// run (as Docker's).
	configured := map[string]*endpointSettings{}
	if !strings.HasPrefix(n.Mode, engine.NetModeContainerPrefix) {
		ep := &endpointSettings{Aliases: n.Aliases}
		name := n.Mode // --network as given: a name, an ID or its prefix
		if st, err := e.Networks(); err == nil {
			if r, err := st.Get(n.Mode); err == nil {
				ep.NetworkID, name = r.ID, r.Name
			}
		}
		configured[name] = ep
	}
	for _, x := range n.Extra {
		configured[x.Name] = &endpointSettings{Aliases: x.Aliases, NetworkID: x.Network}
	}
	var st *engine.NetState
	if c.State.Running || c.State.Restarting {
		st = e.NetworkState(c)
	}
	if st == nil {
		ns.Networks = configured
		return hc, ns
	}
	ns.SandboxKey = e.NetnsPath(c.ID)
	for _, p := range st.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		ns.Ports[key] = append(ns.Ports[key], portBinding{HostIP: hostIPOf(p), HostPort: strconv.Itoa(int(p.HostPort))})
	}
	for _, x := range st.All() {
		ep := &endpointSettings{Aliases: x.Aliases, NetworkID: x.NetworkID, EndpointID: x.HostIf,
			IPAddress: x.IP.String(), IPPrefixLen: x.PrefixLen, MacAddress: x.MAC}
		if x.Gateway.IsValid() {
			ep.Gateway = x.Gateway.String()
		}
		ns.Networks[x.Network] = ep
	}
	if st.Network == "bridge" {
		// Docker fills the top-level fields for the default network only.
		ep := ns.Networks["bridge"]
		ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress = ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress
	}
	return hc, ns
}

// hostIPOf is a published port's host address as inspect shows it.
func hostIPOf(p nft.PortMapping) string {
	if p.HostIP.IsValid() {
		return p.HostIP.String()
	}
	return "0.0.0.0"
}
