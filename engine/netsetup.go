package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"berth/network"
	"berth/network/link"
	"berth/network/nft"
)

// setupNetwork gives a container with a berth network its namespace,
// address, veth, firewall rules and published ports, before its monitor
// runs the runtime's create (config.json names the namespace file), and
// an interface more (eth1, ...) on each network `network connect` added.
// What a previous run left (a killed monitor) is taken down first, so
// setup always starts clean; on failure nothing is left.
func (e *Engine) setupNetwork(c *Container) (err error) {
	if !c.Net.managed() {
		return nil
	}
	// What a previous run left starts with its namespace file (made
	// before the lease, rules and names): without one there is nothing
	// to take down, and a first start saves the teardown's transactions.
	if _, err := os.Lstat(e.NetnsPath(c.ID)); err == nil {
		e.teardownNetwork(c)
	}
	defer func() {
		if err != nil {
			e.teardownNetwork(c)
		}
	}()
	st, err := e.Networks()
	if err != nil {
		return err
	}
	rec, err := networkRecord(st, c.Net.Mode)
	if err != nil {
		return err
	}
	path := e.NetnsPath(c.ID)
	if err := link.CreateNetns(path); err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	fw, err := nft.New()
	if err != nil {
		return err
	}
	ns, err := e.attachNetwork(st, fw, c, rec, "eth0", c.Net.IP, c.Net.Aliases, true)
	if err != nil {
		return err
	}
	if len(c.Net.Ports) > 0 {
		if ns.Ports, err = e.publish(fw, c, ns.IP); err != nil {
			return err
		}
	}
	for i, x := range c.Net.Extra {
		xrec, err := st.Get(x.Network)
		if err != nil {
			return fmt.Errorf("network %s: %w", x.Name, err)
		}
		xs, err := e.attachNetwork(st, fw, c, xrec, fmt.Sprintf("eth%d", i+1), x.IP, x.Aliases, false)
		if err != nil {
			return err
		}
		ns.Others = append(ns.Others, *xs)
	}
	if err := e.writeNetFiles(c, ns, userNetwork(st, ns)); err != nil {
		return err
	}
	if err := e.syncDNS(c, ns, nil); err != nil {
		return err
	}
	return writeNetState(e.dir(c.ID), ns)
}

// attachNetwork gives the container's namespace an interface ifName on
// network rec: a lease (ip, if set, is --ip), the bridge and its rules, the
// veth; the default route goes through the primary interface only.
func (e *Engine) attachNetwork(st *network.Store, fw *nft.Firewall, c *Container, rec *network.Record,
	ifName, ip string, aliases []string, primary bool) (*NetState, error) {
	var fixed netip.Addr
	if ip != "" {
		var err error
		if fixed, err = netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("--ip %s: %w", ip, err)
		}
	}
	// Allocate returns a nil record on error: keep the name for the message.
	name := rec.Name
	addr, rec, err := st.Allocate(rec.ID, c.ID, fixed)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	bits := rec.Subnet.Bits()
	if err := link.EnsureBridge(link.BridgeConfig{Name: rec.Bridge, Gateway: netip.PrefixFrom(rec.Gateway, bits), RouteLocalnet: true}); err != nil {
		return nil, err
	}
	if err := fw.AddNetwork(nft.Network{ID: rec.ID, Bridge: rec.Bridge, Subnet: rec.Subnet, Internal: rec.Internal}); err != nil {
		return nil, fmt.Errorf("firewall of network %s: %w", rec.Name, err)
	}
	if err := link.EnableIPForward(); err != nil {
		return nil, err
	}
	gw := rec.Gateway
	if rec.Internal || !primary {
		gw = netip.Addr{}
	}
	ep, err := link.Attach(link.AttachConfig{Netns: e.NetnsPath(c.ID), Bridge: rec.Bridge, IfName: ifName,
		Address: netip.PrefixFrom(addr, bits), Gateway: gw})
	if err != nil {
		return nil, err
	}
	// A container reaching its own published port: the DNAT sends the
	// frame back out of the port it came in on.
	if err := link.SetHairpin(ep.HostIfName, true); err != nil {
		return nil, err
	}
	ns := &NetState{
		Network: rec.Name, NetworkID: rec.ID, Bridge: rec.Bridge, IP: addr, PrefixLen: bits,
		Gateway: rec.Gateway, MAC: ep.MAC.String(), HostIf: ep.HostIfName, IfName: ifName, Aliases: aliases,
	}
	if rec.Internal {
		ns.Gateway = netip.Addr{}
	}
	return ns, nil
}

// networkRecord finds the network of mode ("bridge": the default one).
func networkRecord(st *network.Store, mode string) (*network.Record, error) {
	if mode == NetModeBridge {
		return st.Default()
	}
	rec, err := st.Get(mode)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", mode, err)
	}
	return rec, nil
}

// userNetwork is the first user network of ns (the default network's
// first), whose name server the container uses; nil when it has none.
func userNetwork(st *network.Store, ns *NetState) *network.Record {
	for _, x := range ns.All() {
		if x.Network == network.DefaultName {
			continue
		}
		if rec, err := st.Get(x.NetworkID); err == nil {
			return rec
		}
	}
	return nil
}

// publish chooses the host ports of the container's -p mappings and adds
// their rules, under <root>/network.lock so that two berth processes never
// choose the same free port.
func (e *Engine) publish(fw *nft.Firewall, c *Container, addr netip.Addr) ([]nft.PortMapping, error) {
	unlock, err := lockFile(filepath.Join(e.root, "network.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	pub, err := fw.Published()
	if err != nil {
		return nil, err
	}
	mine := map[string]bool{} // proto/port this container takes
	var out []nft.PortMapping
	for _, m := range c.Net.Ports {
		proto := m.Proto
		inUse := func(p uint16) bool {
			return nft.InUse(pub, proto)(p) || mine[fmt.Sprintf("%s/%d", proto, p)]
		}
		switch {
		case m.HostPort == 0:
			if m.HostPort, err = nft.FreePort(m.HostIP, proto, 0, 0, inUse); err != nil {
				return nil, fmt.Errorf("publish %s: %w", m, err)
			}
		case m.HostPortEnd > m.HostPort:
			if m.HostPort, err = nft.FreePort(m.HostIP, proto, m.HostPort, m.HostPortEnd, inUse); err != nil {
				return nil, fmt.Errorf("publish %s: %w", m, err)
			}
		default:
			if inUse(m.HostPort) {
				return nil, fmt.Errorf("Bind for %s:%d failed: port is already allocated", hostIPString(m.HostIP), m.HostPort)
			}
			if err := nft.CheckHostPort(m.HostIP, m.HostPort, proto); err != nil {
				return nil, fmt.Errorf("publish %s: %w", m, err)
			}
		}
		m.HostPortEnd = m.HostPort
		mine[fmt.Sprintf("%s/%d", proto, m.HostPort)] = true
		out = append(out, m)
	}
	if err := fw.AddPorts(c.ID, addr, out); err != nil {
		return nil, err
	}
	return out, nil
}

// hostIPString is a published port's host address as Docker prints it.
func hostIPString(a netip.Addr) string {
	if !a.IsValid() {
		return "0.0.0.0"
	}
	return a.String()
}

// teardownNetwork takes down whatever of the container's network exists:
// published ports, DNS names, the veth, the namespace file and the lease.
// Each step is idempotent and tolerates what is already gone (a kill -9,
// a reboot); failures are logged, so that rm always finishes.
func (e *Engine) teardownNetwork(c *Container) {
	if !c.Net.managed() {
		return
	}
	if fw, err := nft.New(); err == nil {
		if err := fw.RemovePorts(c.ID); err != nil {
			slog.Warn("remove published ports", "container", c.ID, "err", err)
		}
	}
	path := e.NetnsPath(c.ID)
	ifNames := []string{"eth0"}
	if ns := e.NetworkState(c); ns != nil {
		for _, o := range ns.Others {
			ifNames = append(ifNames, o.IfName)
		}
	}
	// Deleting a veth waits for the kernel's RCU grace period (~25 ms);
	// removing the namespace file, when no one else holds the namespace,
	// has the kernel delete its veths in the background. Only a container
	// that joined this one's namespace (container:ID) keeps it alive: then
	// the veths go first, as Docker takes the endpoint from the sharer.
	if e.netnsShared(c.ID) {
		for _, name := range ifNames {
			if err := link.Detach(path, name); err != nil {
				slog.Warn("remove the container's veth", "container", c.ID, "interface", name, "err", err)
			}
		}
	}
	if err := link.RemoveNetns(path); err != nil {
		slog.Warn("remove the container's network namespace", "container", c.ID, "err", err)
	}
	if st, err := e.Networks(); err == nil {
		// The DNS names go first, while the lease still keeps `network rm`
		// from removing the network: after it, the update would make the
		// removed network's DNS directory again.
		leases, err := st.Leases()
		if err != nil {
			slog.Warn("list the container's addresses", "container", c.ID, "err", err)
		}
		held := false
		for _, l := range leases {
			if l.Container != c.ID {
				continue
			}
			held = true
			if rec, err := st.Get(l.Network); err == nil {
				_ = e.updateDNS(c, nil, rec, nil, false)
			}
		}
		// A write transaction (two fsyncs) only when there is a lease.
		if held || err != nil {
			if _, err := st.ReleaseAll(c.ID); err != nil {
				slog.Warn("release the container's addresses", "container", c.ID, "err", err)
			}
		}
	}
	if err := os.Remove(filepath.Join(e.dir(c.ID), netStateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("remove network state", "container", c.ID, "err", err)
	}
}

// netnsShared says another container joins id's network namespace
// (--network container:ID); true when that cannot be told.
func (e *Engine) netnsShared(id string) bool {
	// The records only: List would refresh states, and teardown runs
	// under the container's lock.
	shared := false
	err := e.meta.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketContainers).ForEach(func(k, _ []byte) error {
			o, err := getContainer(tx, string(k))
			if err != nil {
				return err
			}
			if o.ID != id && o.Net != nil && o.Net.Mode == NetModeContainerPrefix+id {
				shared = true
			}
			return nil
		})
	})
	return shared || err != nil
}

// lockFile takes an exclusive flock on path (created 0600).
func lockFile(path string) (func(), error) {
	fd, err := unix.Open(path, unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { unix.Close(fd) }, nil
}
