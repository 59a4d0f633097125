package server

import (
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"berth/network/dns"
)

// serveStarter runs this test binary as the server (see TestMain).
func serveStarter(t *testing.T, root string) dns.Starter {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func() *exec.Cmd {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), "BERTH_DNS_TEST_SERVE=1", "BERTH_DNS_ROOT="+root, "BERTH_DNS_NET="+testNet)
		return cmd
	}
}

// freePort is a port free on 127.0.0.5 for UDP and TCP, a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	pc, tcp, addr, err := bind("127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.Close()
	tcp.Close()
	return addr.String()
}

func TestUpdateStartsAndEndsServer(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "networks", testNet)
	listen := freePort(t)
	start := serveStarter(t, root)
	t.Cleanup(func() {
		if err := dns.Stop(root, testNet, 5*time.Second); err != nil {
			t.Error(err)
		}
	})
	add := func(name, id, ip string) {
		t.Helper()
		err := dns.Update(t.Context(), root, testNet, start, func(r *dns.Records) error {
			r.Listen = listen
			r.Containers = append(r.Containers, dns.Container{ID: id, Names: []string{name}, IPv4: []string{ip}})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	drop := func(name string) {
		t.Helper()
		err := dns.Update(t.Context(), root, testNet, start, func(r *dns.Records) error {
			r.Containers = slices.DeleteFunc(r.Containers, func(c dns.Container) bool { return c.Names[0] == name })
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("web", idWeb, "10.89.0.2")
	pid, err := dns.Running(dir)
	if err != nil || pid == 0 {
		t.Fatalf("no server after the first container: %d %v", pid, err)
	}
	if resp := query(t, "udp", listen, "web.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.2"}) {
		t.Fatalf("web: %v", resp)
	}
	// A second container: the same server, which knows it at once.
	add("db", idDB, "10.89.0.3")
	if p, _ := dns.Running(dir); p != pid {
		t.Errorf("server changed: %d then %d", pid, p)
	}
	if resp := query(t, "tcp", listen, "db.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.3"}) {
		t.Fatalf("db: %v", resp)
	}
	// The last container leaves: the server exits by itself.
	drop("web")
	drop("db")
	waitFor(t, func() bool { p, _ := dns.Running(dir); return p == 0 })
	if err := syscallKill0(pid); err == nil {
		// Reaped by the Wait goroutine of Update; a zombie would still answer kill 0.
		waitFor(t, func() bool { return syscallKill0(pid) != nil })
	}
	// A container again: a new server.
	add("web", idWeb, "10.89.0.2")
	if p, _ := dns.Running(dir); p == 0 || p == pid {
		t.Fatalf("no new server: %d", p)
	}
	if resp := query(t, "udp", listen, "web.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.2"}) {
		t.Fatalf("web again: %v", resp)
	}
	// kill -9 of the server: dns.Ensure brings one back.
	p, _ := dns.Running(dir)
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { p2, _ := dns.Running(dir); return p2 == 0 })
	if err := dns.Ensure(t.Context(), root, testNet, start); err != nil {
		t.Fatal(err)
	}
	if resp := query(t, "udp", listen, "web.", mdns.TypeA); !slices.Equal(addrs(resp), []string{"10.89.0.2"}) {
		t.Fatalf("web after Ensure: %v", resp)
	}
	// network rm: records removed, server stopped.
	if err := dns.Remove(root, testNet); err != nil {
		t.Fatal(err)
	}
	if p, _ := dns.Running(dir); p != 0 {
		t.Errorf("server %d runs after Remove", p)
	}
}

// TestUpdateRace has containers come and go while the server decides to
// exit: after each round a server runs exactly when a container is left.
func TestUpdateRace(t *testing.T) {
	root := newRoot(t)
	dir := filepath.Join(root, "networks", testNet)
	listen := freePort(t)
	start := serveStarter(t, root)
	t.Cleanup(func() { _ = dns.Stop(root, testNet, 5*time.Second) })
	ids := []string{idWeb, idDB}
	for round := range 6 {
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := dns.Update(t.Context(), root, testNet, start, func(r *dns.Records) error {
					r.Listen = listen
					r.Containers = slices.DeleteFunc(r.Containers, func(c dns.Container) bool { return c.ID == id })
					if (round+i)%2 == 0 {
						r.Containers = append(r.Containers, dns.Container{ID: id, Names: []string{"c" + id[:4]}, IPv4: []string{"10.89.0." + string(rune('2'+i))}})
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		time.Sleep(100 * time.Millisecond) // past the poll, so an exiting server is gone
		r, err := dns.ReadRecords(dir)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := dns.Running(dir)
		if (len(r.Containers) > 0) != (pid != 0) {
			t.Fatalf("round %d: %d containers, server pid %d", round, len(r.Containers), pid)
		}
		if pid != 0 {
			c := r.Containers[0]
			if resp := query(t, "udp", listen, c.Names[0]+".", mdns.TypeA); !slices.Equal(addrs(resp), c.IPv4) {
				t.Fatalf("round %d: %s: %v", round, c.Names[0], resp)
			}
		}
	}
}

// syscallKill0 probes whether pid exists.
func syscallKill0(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscallSignal0)
}

// syscallSignal0 is signal 0, the existence probe.
const syscallSignal0 = syscall.Signal(0)

func TestSecondServerRefused(t *testing.T) {
	root := newRoot(t)
	update(t, root, baseRecords)
	startServer(t, root, []string{}, time.Second)
	err := Serve(t.Context(), Options{Root: root, Network: testNet, Listen: "127.0.0.2:0"})
	if err != ErrRunning {
		t.Fatalf("second server: %v", err)
	}
}

func TestUpdateReportsFailedStart(t *testing.T) {
	root := newRoot(t)
	// The port is taken: the server cannot listen, dns.Update says why.
	pc, tcp, addr, err := bind("127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer tcp.Close()
	err = dns.Update(t.Context(), root, testNet, serveStarter(t, root), func(r *dns.Records) error {
		r.Listen = addr.String()
		r.Containers = []dns.Container{{ID: idWeb, Names: []string{"web"}, IPv4: []string{"10.89.0.2"}}}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("dns.Update with the port taken: %v", err)
	}
	if p, _ := dns.Running(filepath.Join(root, "networks", testNet)); p != 0 {
		t.Errorf("server %d runs", p)
	}
}

func TestResolvConfReload(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	write := func(s string) {
		if err := os.WriteFile(conf+".new", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(conf+".new", conf); err != nil {
			t.Fatal(err)
		}
	}
	write("nameserver 127.0.0.53\n")
	st := &state{resolvConf: conf, self: netip.MustParseAddrPort("10.89.0.1:53"), log: slog.Default()}
	st.reloadUpstreams()
	if got := st.upstreams(); !slices.Equal(got, []string{"127.0.0.53:53"}) {
		t.Fatalf("upstreams %v", got)
	}
	write("nameserver 10.89.0.1\nnameserver 192.0.2.53\n")
	st.reloadUpstreams()
	if got := st.upstreams(); !slices.Equal(got, []string{"192.0.2.53:53"}) {
		t.Fatalf("upstreams after the change %v", got)
	}
	if err := os.Remove(conf); err != nil {
		t.Fatal(err)
	}
	st.reloadUpstreams()
	if got := st.upstreams(); len(got) != 0 {
		t.Fatalf("upstreams without resolv.conf %v", got)
	}
}
