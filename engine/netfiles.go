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
// the container's directory (those the user did not mount over), with
// the container's address and name server, before the runtime binds them.
// ns and rec are nil for a container without a berth network.
func (e *Engine) writeNetFiles(c *Container, ns *NetState, rec *network.Record) error {
	if !netFilesChanged(c.Net) {
		return nil
	}
	dir := e.dir(c.ID)
	host, err := os.ReadFile(filepath.Join(dir, "hostname"))
	if err != nil {
		return nil // create wrote no files (the user mounted over them)
	}
	var addr netip.Addr
	if ns != nil {
		addr = ns.IP
	}
	if c.Net.Mode != NetModeHost {
		if err := rewrite(filepath.Join(dir, "hosts"), ocispec.HostsFile(strings.TrimSpace(string(host)), addr, c.Net.AddHosts)); err != nil {
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
	return rewrite(filepath.Join(dir, "resolv.conf"), ocispec.ResolvConf(hostConf, servers, c.Net.DNSSearch))
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

// updateDNS adds (or, with add false, removes) the container's names on a
// user network's name server; the default network has none, as Docker's.
func (e *Engine) updateDNS(c *Container, ns *NetState, rec *network.Record, add bool) error {
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
		return exec.Command(e.self, "--root", e.root, "dns-serve", "--network", rec.ID)
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
			r.Containers = append(r.Containers, dns.Container{ID: c.ID, Names: names, IPv4: []string{ns.IP.String()}})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dns of network %s: %w", rec.Name, err)
	}
	return nil
}
