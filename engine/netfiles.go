package engine

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"berth/engine/ocispec"
	"berth/network"
	"berth/network/dns"
)

// netFilesChanged says the container's /etc/hosts or /etc/resolv.conf
// differ from what create wrote (an address, --add-host, --dns).
func netFilesChanged(n *NetConfig) bool {
	return n != nil && (n.managed() || len(n.AddHosts) > 0 || len(n.DNS) > 0 || len(n.DNSSearch) > 0)
}

// writeNetFiles rewrites the hosts and resolv.conf files create wrote into
// the container's run directory (those the user did not mount over), with
// the container's addresses and name server, before the runtime binds
// them. ns and rec are nil for a container without a berth network; rec
// is the user network whose name server the container uses, if any.
func (e *Engine) writeNetFiles(c *Container, ns *NetState, rec *network.Record) error {
	return e.putNetFiles(c, ns, rec, rewrite)
}

// putNetFiles computes the hosts and resolv.conf files and stores each
// with put (rewrite before the start; overwrite while the container runs,
// as its bind mounts hold the files' inodes).
func (e *Engine) putNetFiles(c *Container, ns *NetState, rec *network.Record, put func(string, []byte) error) error {
	if !netFilesChanged(c.Net) {
		return nil
	}
	dir := e.etcDir(c)
	b, err := os.ReadFile(filepath.Join(dir, "hostname"))
	if err != nil {
		return nil // create wrote no files (the user mounted over them)
	}
	host := strings.TrimSpace(string(b))
	var addr netip.Addr
	if ns != nil {
		addr = ns.IP
	}
	if c.Net.Mode != NetModeHost {
		hosts := ocispec.HostsFile(host, addr, c.Net.AddHosts)
		if ns != nil {
			// One line per further network, as Docker's connect adds.
			for _, o := range ns.Others {
				line := o.IP.String() + "\t" + host
				if short, _, ok := strings.Cut(host, "."); ok && short != "" {
					line += " " + short
				}
				hosts = append(hosts, line+"\n"...)
			}
		}
		if err := put(filepath.Join(dir, "hosts"), hosts); err != nil {
			return err
		}
	}
	servers := c.Net.DNS
	if len(servers) == 0 && rec != nil && rec.Name != network.DefaultName {
		// A user network's name server listens on its gateway.
		servers = []string{rec.Gateway.String()}
	}
	if len(servers) == 0 && len(c.Net.DNSSearch) == 0 {
		return nil
	}
	hostConf, _ := os.ReadFile("/etc/resolv.conf")
	return put(filepath.Join(dir, "resolv.conf"), ocispec.ResolvConf(hostConf, servers, c.Net.DNSSearch))
}

// overwrite replaces an existing file's contents in place (a running
// container's bind mount holds its inode, so a rename would not reach
// it); a missing file is left alone.
func overwrite(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// rewrite replaces an existing file's contents atomically; a missing
// file (not generated: the user mounts their own) is left alone.
func rewrite(path string, data []byte) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// syncDNS puts the container's names on the name server of each user
// network of ns (the default network has none, as Docker's), each entry
// listing the container's other networks, whose names it may resolve too;
// gone is a network the container just left, whose entry is removed.
func (e *Engine) syncDNS(c *Container, ns *NetState, gone *network.Record) error {
	if gone != nil {
		if err := e.updateDNS(c, nil, gone, nil, false); err != nil {
			return err
		}
	}
	if ns == nil {
		return nil
	}
	all := ns.All()
	var ids []string
	for _, x := range all {
		if x.Network != network.DefaultName {
			ids = append(ids, x.NetworkID)
		}
	}
	st, err := e.Networks()
	if err != nil {
		return err
	}
	for _, x := range all {
		if x.Network == network.DefaultName {
			continue
		}
		rec, err := st.Get(x.NetworkID)
		if err != nil {
			return fmt.Errorf("network %s: %w", x.Network, err)
		}
		var others []string
		for _, id := range ids {
			if id != rec.ID {
				others = append(others, id)
			}
		}
		if err := e.updateDNS(c, x, rec, others, true); err != nil {
			return err
		}
	}
	return nil
}

// updateDNS adds (or, with add false, removes) the container's names on a
// user network's name server; the default network has none, as Docker's.
// others are the container's other user networks.
func (e *Engine) updateDNS(c *Container, ns *NetState, rec *network.Record, others []string, add bool) error {
	if rec == nil || rec.Name == network.DefaultName {
		return nil
	}
	dir, err := dns.Dir(e.root, rec.ID)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dns of network %s: %w", rec.Name, err)
	}
	start := func() *exec.Cmd {
		return exec.Command(e.self, append(e.selfCommand()[1:], "dns-serve", "--network", rec.ID)...)
	}
	err = dns.Update(context.Background(), e.root, rec.ID, start, func(r *dns.Records) error {
		r.Listen = netip.AddrPortFrom(rec.Gateway, 53).String()
		// Names Docker allows that DNS does not ("a..b", a 64-byte label)
		// are left out, as the server would refuse the whole file.
		r.Domain = ""
		if dns.ValidName(rec.Name) {
			r.Domain = rec.Name
		}
		r.Subnets = []string{rec.Subnet.String()}
		kept := r.Containers[:0]
		for _, x := range r.Containers {
			if x.ID != c.ID {
				kept = append(kept, x)
			}
		}
		r.Containers = kept
		if add {
			var names []string
			for _, n := range append([]string{strings.TrimPrefix(c.Name, "/")}, ns.Aliases...) {
				if dns.ValidName(n) {
					names = append(names, n)
				}
			}
			r.Containers = append(r.Containers, dns.Container{ID: c.ID, Names: names, IPv4: []string{ns.IP.String()}, Networks: others})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dns of network %s: %w", rec.Name, err)
	}
	return nil
}
