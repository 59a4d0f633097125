package nft

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// envNetns marks the test binary re-executed in a private network
// namespace; envChild selects a helper role (server, client) in a
// "container" namespace.
const (
	envNetns = "BERTH_NFT_TEST_NETNS"
	envChild = "BERTH_NFT_TEST_CHILD"
)

// TestMain re-executes the tests under `unshare -n` so that no rule, link
// or sysctl of the host is ever touched, and checks afterwards that the
// host's ruleset, links and addresses are what they were.
func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "server":
		runServer()
		return
	case "client":
		os.Exit(runClient())
	}
	if os.Getenv(envNetns) != "" || os.Geteuid() != 0 || isFuzzWorker() {
		os.Exit(m.Run())
	}
	before := hostState()
	cmd := exec.Command("unshare", "-n", "--", os.Args[0])
	cmd.Args = append(cmd.Args, os.Args[1:]...)
	cmd.Env = append(os.Environ(), envNetns+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	code := 0
	if err := cmd.Run(); err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			fmt.Fprintln(os.Stderr, "unshare -n:", err)
		}
	}
	if after := hostState(); after != before {
		fmt.Fprintf(os.Stderr, "FAIL: host network state changed\nbefore:\n%s\nafter:\n%s\n", before, after)
		code = 1
	}
	os.Exit(code)
}

func isFuzzWorker() bool {
	for _, a := range os.Args {
		if strings.HasPrefix(a, "-test.fuzz") {
			return true
		}
	}
	return false
}

// hostState is the host's ruleset, links and addresses, as text.
func hostState() string {
	var b strings.Builder
	for _, c := range [][]string{{"nft", "list", "ruleset"}, {"ip", "-o", "link"}, {"ip", "-o", "addr"}} {
		out, _ := exec.Command(c[0], c[1:]...).CombinedOutput()
		b.Write(out)
	}
	return b.String()
}

// needNetns skips a test that is not in a private namespace.
func needNetns(t *testing.T) {
	t.Helper()
	if os.Getenv(envNetns) == "" {
		t.Skip("needs root to run in a private network namespace")
	}
}

// runServer serves TCP and UDP on port 80 of every address, answering each
// client with the address it saw, until stdin closes.
func runServer() {
	l, err := net.Listen("tcp4", ":80")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	u, err := net.ListenPacket("udp4", ":80")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, c.RemoteAddr())
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 512)
		for {
			_, a, err := u.ReadFrom(buf)
			if err != nil {
				return
			}
			u.WriteTo([]byte(a.String()+"\n"), a)
		}
	}()
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

// runClient asks the TCP server at $ADDR for the address it sees.
func runClient() int {
	got, err := askTCP(os.Getenv("ADDR"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println(got)
	return 0
}

// askTCP connects to addr and returns the client address the server saw.
func askTCP(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// askUDP sends a datagram to addr and returns the client address the server saw.
func askUDP(addr string) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("hi")); err != nil {
		return "", err
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(buf[:n])), nil
}
