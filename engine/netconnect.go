package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"berth/engine/events"
	"berth/network"
	"berth/network/link"
	"berth/network/nft"
)

// ConnectOptions are `network connect`'s flags.
type ConnectOptions struct {
	// IP is --ip, a fixed address on a network with a user subnet.
	IP string
	// Aliases are --alias values, the container's further names on the
	// network.
	Aliases []string
}

// Connect joins a container to one more network, as `network connect`:
// a running container gets an interface (eth1, ...) with an address, its
// names on the network's name server and a line in /etc/hosts at once; a
// stopped one at its next start. The network is kept in the container's
// record, so every start joins it again.
func (e *Engine) Connect(ctx context.Context, ref, netRef string, o ConnectOptions) error {
	c, st, unlock, err := e.lockForNetwork(ctx, ref, netRef)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := networkRecord(st, netRef)
	if err != nil {
		return err
	}
	if onNetwork(st, c, rec) {
		return fmt.Errorf("endpoint with name %s already exists in network %s", strings.TrimPrefix(c.Name, "/"), rec.Name)
	}
	if o.IP != "" {
		a, err := netip.ParseAddr(o.IP)
		if err != nil || !a.Is4() {
			return fmt.Errorf("--ip %s: not an IPv4 address", o.IP)
		}
		if rec.Name == network.DefaultName || !rec.UserSubnet {
			return errors.New("user specified IP address is supported only when connecting to networks with user configured subnets")
		}
	}
	if rec.Name == network.DefaultName && len(o.Aliases) > 0 {
		return errors.New("network-scoped alias is supported only for containers in user defined networks")
	}
	att := NetAttachment{Network: rec.ID, Name: rec.Name, IP: o.IP, Aliases: o.Aliases}
	if ns := e.NetworkState(c); ns != nil && e.netLive(c) {
		if err := e.connectLive(st, c, ns, rec, att); err != nil {
			return err
		}
	}
	if _, err := e.modify(c.ID, func(r *Container) error {
		r.Net.Extra = append(r.Net.Extra, att)
		return nil
	}); err != nil {
		if ns := e.NetworkState(c); ns != nil {
			_ = e.disconnectLive(st, c, ns, rec)
		}
		return err
	}
	e.emitNetwork(rec, c, "connect")
	return nil
}

// Disconnect takes a container off a network it joined with Connect; a
// running container loses the interface, address and names at once. With
// force, a network that no longer exists is dropped from the record too.
func (e *Engine) Disconnect(ctx context.Context, ref, netRef string, force bool) error {
	c, st, unlock, err := e.lockForNetwork(ctx, ref, netRef)
	if err != nil {
		return err
	}
	defer unlock()
	rec, err := networkRecord(st, netRef)
	if err != nil {
		if !force || !errors.Is(err, network.ErrNotFound) {
			return err
		}
		// The network went: drop it from the record by name.
		rec = &network.Record{Name: netRef}
	}
	i := slices.IndexFunc(c.Net.Extra, func(a NetAttachment) bool {
		return a.Network == rec.ID || (rec.ID == "" && a.Name == netRef)
	})
	if i < 0 {
		if primary, err := networkRecord(st, c.Net.Mode); err == nil && primary.ID == rec.ID {
			return fmt.Errorf("container %s: cannot disconnect from network %s, the network it was created on (--network); berth disconnects only networks joined with network connect",
				strings.TrimPrefix(c.Name, "/"), rec.Name)
		}
		return fmt.Errorf("container %s is not connected to network %s", strings.TrimPrefix(c.Name, "/"), rec.Name)
	}
	if ns := e.NetworkState(c); ns != nil && rec.ID != "" {
		if err := e.disconnectLive(st, c, ns, rec); err != nil {
			return err
		}
	}
	id := c.Net.Extra[i].Network
	if _, err := e.modify(c.ID, func(r *Container) error {
		r.Net.Extra = slices.DeleteFunc(r.Net.Extra, func(a NetAttachment) bool { return a.Network == id })
		return nil
	}); err != nil {
		return err
	}
	if rec.ID != "" {
		e.emitNetwork(rec, c, "disconnect")
	}
	return nil
}

// lockForNetwork takes the container's lock for a connect or disconnect
// of netRef (so that no start, stop or rm runs meanwhile), checks its
// network mode allows one and opens the network store.
func (e *Engine) lockForNetwork(ctx context.Context, ref, netRef string) (*Container, *network.Store, func(), error) {
	c, unlock, err := e.lookupLocked(ctx, ref)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := connectableMode(c, netRef); err != nil {
		unlock()
		return nil, nil, nil, err
	}
	st, err := e.Networks()
	if err != nil {
		unlock()
		return nil, nil, nil, err
	}
	return c, st, unlock, nil
}

// connectableMode refuses the network modes that cannot take further
// networks (none, host, container:X) and the pseudo networks as targets.
func connectableMode(c *Container, netRef string) error {
	if netRef == NetModeHost || netRef == NetModeNone {
		return fmt.Errorf("container cannot be disconnected from host network or connected to %s network", netRef)
	}
	switch {
	case c.Net == nil || c.Net.Mode == NetModeNone || c.Net.Mode == "":
		return errors.New("container cannot be connected to multiple networks with one of the networks in private (none) mode")
	case c.Net.Mode == NetModeHost:
		return errors.New("container cannot be disconnected from host network or connected to host network")
	case strings.HasPrefix(c.Net.Mode, NetModeContainerPrefix):
		return errors.New("container sharing network namespace with another container or host cannot be connected to any other network")
	}
	return nil
}

// onNetwork says c is on rec already (its --network or a connect).
func onNetwork(st *network.Store, c *Container, rec *network.Record) bool {
	if primary, err := networkRecord(st, c.Net.Mode); err == nil && primary.ID == rec.ID {
		return true
	}
	return slices.ContainsFunc(c.Net.Extra, func(a NetAttachment) bool { return a.Network == rec.ID })
}

// netLive says the container runs with its network namespace set up.
func (e *Engine) netLive(c *Container) bool {
	if !c.State.Running && !c.State.Restarting {
		return false
	}
	ok, _ := link.IsNetns(e.NetnsPath(c.ID))
	return ok
}

// connectLive gives the running container its interface on rec; on
// failure nothing of it is left.
func (e *Engine) connectLive(st *network.Store, c *Container, ns *NetState, rec *network.Record, att NetAttachment) (err error) {
	fw, err := nft.New()
	if err != nil {
		return err
	}
	ifName := freeIfName(ns)
	n := len(ns.Others)
	defer func() {
		if err == nil {
			return
		}
		_ = link.Detach(e.NetnsPath(c.ID), ifName)
		if len(ns.Others) > n {
			// The state, names and files may name the new interface
			// already: they go back to the container's other networks.
			ns.Others = ns.Others[:n]
			_ = writeNetState(e.dir(c.ID), ns)
			_ = e.syncDNS(c, ns, rec)
			_ = e.putNetFiles(c, ns, userNetwork(st, ns), overwrite)
		}
		_ = st.Release(rec.ID, c.ID)
	}()
	xs, err := e.attachNetwork(st, fw, c, rec, ifName, att.IP, att.Aliases, false)
	if err != nil {
		return err
	}
	ns.Others = append(ns.Others, *xs)
	if err := writeNetState(e.dir(c.ID), ns); err != nil {
		return err
	}
	if err := e.putNetFiles(c, ns, userNetwork(st, ns), overwrite); err != nil {
		return err
	}
	return e.syncDNS(c, ns, nil)
}

// disconnectLive removes the running container's interface on rec, its
// lease and names; the hosts file loses the address.
func (e *Engine) disconnectLive(st *network.Store, c *Container, ns *NetState, rec *network.Record) error {
	i := slices.IndexFunc(ns.Others, func(o NetState) bool { return o.NetworkID == rec.ID })
	if i < 0 {
		return nil // not set up in this run (connected while stopped)
	}
	if err := link.Detach(e.NetnsPath(c.ID), ns.Others[i].IfName); err != nil {
		return fmt.Errorf("disconnect from network %s: %w", rec.Name, err)
	}
	ns.Others = slices.Delete(ns.Others, i, i+1)
	if err := e.syncDNS(c, ns, rec); err != nil {
		return err
	}
	if err := st.Release(rec.ID, c.ID); err != nil && !errors.Is(err, network.ErrNotFound) {
		return fmt.Errorf("disconnect from network %s: %w", rec.Name, err)
	}
	if err := writeNetState(e.dir(c.ID), ns); err != nil {
		return err
	}
	return e.putNetFiles(c, ns, userNetwork(st, ns), overwrite)
}

// freeIfName is the lowest ethN (N ≥ 1) the container does not use.
func freeIfName(ns *NetState) string {
	for n := 1; ; n++ {
		name := fmt.Sprintf("eth%d", n)
		if !slices.ContainsFunc(ns.Others, func(o NetState) bool { return o.IfName == name }) {
			return name
		}
	}
}

// emitNetwork writes Docker's network connect or disconnect event.
func (e *Engine) emitNetwork(rec *network.Record, c *Container, action string) {
	e.emit(events.New(events.TypeNetwork, action, rec.ID,
		map[string]string{"container": c.ID, "name": rec.Name, "type": rec.Driver}, time.Now()))
}
