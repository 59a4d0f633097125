package ocispec

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// etcFile is one file Build generates and binds over the image's.
type etcFile struct {
	dest, name string
	data       []byte
}

// hostsHeader is Docker's /etc/hosts without a container address.
const hostsHeader = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"

// dockerDNS are the resolvers Docker falls back to when the host has only
// loopback ones, which are unreachable from the container's namespace.
var dockerDNS = []string{"8.8.8.8", "8.8.4.4"}

// etcFiles returns /etc/hostname, /etc/hosts and /etc/resolv.conf for the
// container. berth has no container networks yet: the hosts file maps
// localhost and the hostname to loopback; resolv.conf is the host's with
// loopback nameservers removed (Docker's rule, falling back to Google's
// public DNS when none is left). With the host's network, the container
// keeps its image's /etc/hosts and gets the host's resolv.conf unchanged.
func etcFiles(o *Options, host string) ([]etcFile, error) {
	files := []etcFile{{dest: "/etc/hostname", name: "hostname", data: []byte(host + "\n")}}
	if o.NetNS != "host" {
		h := hostsHeader + "127.0.0.1\t" + host
		if short, _, ok := strings.Cut(host, "."); ok && short != "" {
			h += " " + short
		}
		files = append(files, etcFile{dest: "/etc/hosts", name: "hosts", data: []byte(h + "\n")})
	}
	src := o.HostResolvConf
	if src == "" {
		src = "/etc/resolv.conf"
	}
	b, err := readHostFile(src)
	if err != nil {
		return nil, fmt.Errorf("host resolver configuration: %w", err)
	}
	if o.NetNS != "host" {
		b = filterResolvConf(b)
	}
	files = append(files, etcFile{dest: "/etc/resolv.conf", name: "resolv.conf", data: b})
	return files, nil
}

// readHostFile reads a small host configuration file; a missing one reads
// as empty.
func readHostFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// filterResolvConf drops loopback nameservers (127.0.0.0/8, ::1) from a
// resolv.conf and adds Docker's defaults when no nameserver is left.
func filterResolvConf(b []byte) []byte {
	var out bytes.Buffer
	servers := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if a, err := netip.ParseAddr(f[1]); err == nil && a.Unmap().IsLoopback() {
				continue
			}
			servers++
		}
		out.WriteString(line + "\n")
	}
	if servers == 0 {
		for _, s := range dockerDNS {
			out.WriteString("nameserver " + s + "\n")
		}
	}
	return out.Bytes()
}

// writeEtcFiles writes the files into dir (atomically: temp and rename)
// and returns their paths.
func writeEtcFiles(dir string, files []etcFile) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("container directory: %w", err)
	}
	paths := map[string]string{}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Rename(tmp, p); err != nil {
			os.Remove(tmp)
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		paths[f.dest] = p
	}
	return paths, nil
}

// EtcFileNames are the files Build writes for a container (unless the
// user mounts over them): hostname, resolv.conf, and hosts but on the
// host's network, where the container keeps its image's.
func EtcFileNames(hostNet bool) []string {
	if hostNet {
		return []string{"hostname", "resolv.conf"}
	}
	return []string{"hostname", "hosts", "resolv.conf"}
}

// WriteEtcFiles writes into dir again the files Build wrote there (their
// names among hostname, hosts and resolv.conf), as Build made them for a
// container with host name host, on the host's network or not: what a
// start finds gone when dir is on a tmpfs that a reboot emptied.
// (Networks rewrite hosts and resolv.conf after this, at each start.)
func WriteEtcFiles(dir, host string, hostNet bool, names []string) error {
	o := &Options{}
	if hostNet {
		o.NetNS = "host"
	}
	files, err := etcFiles(o, host)
	if err != nil {
		return err
	}
	var keep []etcFile
	for _, f := range files {
		if slices.Contains(names, f.name) {
			keep = append(keep, f)
		}
	}
	_, err = writeEtcFiles(dir, keep)
	return err
}
