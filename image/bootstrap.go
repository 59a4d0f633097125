package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"berth/layer"
)

// BootstrapOptions tune Bootstrap.
type BootstrapOptions struct {
	// Progress receives the output of apt-get and debootstrap, line by
	// line; nil discards it (give it only when showing on a terminal).
	Progress io.Writer
	// Mirror is the Debian mirror debootstrap fetches from; "" means the
	// one this host's apt sources name, else http://deb.debian.org/debian.
	Mirror string
	// BusyboxPath is the static busybox to copy; "" means /bin/busybox
	// (Debian's busybox-static, installed when missing).
	BusyboxPath string
}

// Bootstrap makes a base image without a registry, from this host's
// Debian packages:
//
//   - "busybox" or "busybox:TAG": the host's static busybox, its applets
//     as relative symlinks, a minimal /etc; Cmd ["sh"]. Built in memory,
//     with every time fixed (SOURCE_DATE_EPOCH, else the binary's mtime),
//     so bootstrapping again with the same busybox gives the same ID.
//   - "debian" or "debian:SUITE" (bookworm by default): a minbase
//     debootstrap of SUITE, apt caches stripped; Cmd ["bash"]. Takes
//     minutes and needs the mirror.
//
// Missing tools (busybox-static, debootstrap) are installed with apt-get
// when running as root.
func (s *Store) Bootstrap(ctx context.Context, name string, o BootstrapOptions) (Image, digest.Digest, error) {
	dist, tag, _ := strings.Cut(name, ":")
	var (
		img Image
		id  digest.Digest
		err error
	)
	switch dist {
	case "busybox":
		img, id, err = s.bootstrapBusybox(ctx, "busybox:"+orDefault(tag, "latest"), o)
	case "debian":
		img, id, err = s.bootstrapDebian(ctx, orDefault(tag, "bookworm"), o)
	default:
		return Image{}, "", fmt.Errorf("bootstrap %q: unknown base image: want busybox[:TAG] or debian[:SUITE]", name)
	}
	if err != nil {
		return Image{}, "", fmt.Errorf("bootstrap %s: %w", name, err)
	}
	return img, id, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// basePath is the PATH Docker's official images set.
const basePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func (s *Store) bootstrapBusybox(ctx context.Context, name string, o BootstrapOptions) (Image, digest.Digest, error) {
	ref, err := parseNewRef(name)
	if err != nil {
		return Image{}, "", err
	}
	bin := o.BusyboxPath
	if bin == "" {
		bin = "/bin/busybox"
		if err := ensureStatic(bin); err != nil {
			if err := aptInstall(ctx, "busybox-static", o.Progress); err != nil {
				return Image{}, "", fmt.Errorf("%s is missing or not static, and installing busybox-static failed: %w", bin, err)
			}
		}
	}
	if err := ensureStatic(bin); err != nil {
		return Image{}, "", err
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return Image{}, "", err
	}
	st, err := os.Stat(bin)
	if err != nil {
		return Image{}, "", err
	}
	epoch, err := sourceDateEpoch(st.ModTime())
	if err != nil {
		return Image{}, "", err
	}
	applets, err := busyboxApplets(ctx, bin)
	if err != nil {
		return Image{}, "", err
	}
	changes, err := ParseChanges([]string{"ENV " + basePath, `CMD ["sh"]`})
	if err != nil {
		return Image{}, "", err
	}
	cfg := ocispec.Image{
		Created:  &epoch,
		Platform: ocispec.Platform{OS: s.platform.OS, Architecture: s.platform.Architecture, Variant: s.platform.Variant},
		History: []ocispec.History{{
			Created:   &epoch,
			CreatedBy: "berth image bootstrap busybox",
			Comment:   "busybox " + packageVersion(ctx, "busybox-static") + " from the host",
		}},
	}
	if err := ApplyChanges(&cfg.Config, changes); err != nil {
		return Image{}, "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBusyboxTar(pw, body, applets, epoch)) }()
	defer pr.Close()
	return s.importLayer(ctx, pr, cfg, ref)
}

// sourceDateEpoch is $SOURCE_DATE_EPOCH when set, else def, in UTC
// seconds.
func sourceDateEpoch(def time.Time) (time.Time, error) {
	if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return def.Truncate(time.Second).UTC(), nil
}

// ensureStatic checks that bin is a statically linked ELF executable
// (no program interpreter), which runs in an image with no libc.
func ensureStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("busybox %s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("busybox %s is dynamically linked: install busybox-static", bin)
		}
	}
	return nil
}

// aptInstall installs a Debian package with apt-get (root only),
// updating the package lists once if the first try fails.
func aptInstall(ctx context.Context, pkg string, progress io.Writer) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is not installed and only root can install it: run apt-get install %s", pkg, pkg)
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		var out bytes.Buffer
		w := io.Writer(&out)
		if progress != nil {
			w = io.MultiWriter(&out, progress)
		}
		cmd.Stdout, cmd.Stderr = w, w
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w: %s", strings.Join(args, " "), err, lastLines(out.String(), 5))
		}
		return nil
	}
	if err := run("install", "-y", "--no-install-recommends", pkg); err == nil {
		return nil
	}
	if err := run("update"); err != nil {
		return err
	}
	return run("install", "-y", "--no-install-recommends", pkg)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// packageVersion is the installed version of a Debian package, or "".
func packageVersion(ctx context.Context, pkg string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// busyboxApplets runs `busybox --list-full` (the host's binary, not an
// image's) and returns the applet paths, cleaned and checked to stay
// inside the image, sorted.
func busyboxApplets(ctx context.Context, bin string) ([]string, error) {
	out, err := exec.CommandContext(ctx, bin, "--list-full").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list-full: %w", bin, err)
	}
	seen := map[string]bool{}
	var applets []string
	for _, line := range strings.Split(string(out), "\n") {
		p := path.Clean(strings.TrimSpace(line))
		if line == "" || p == "." || p == "bin/busybox" || seen[p] {
			continue
		}
		if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			return nil, fmt.Errorf("%s --list-full: bad applet path %q", bin, line)
		}
		seen[p] = true
		applets = append(applets, p)
	}
	if !seen["bin/sh"] {
		return nil, fmt.Errorf("%s has no sh applet", bin)
	}
	sort.Strings(applets)
	return applets, nil
}

// writeBusyboxTar writes the busybox root filesystem as a tar: entries
// in name order, owned by root, all with time mtime, so the same busybox
// gives the same bytes.
func writeBusyboxTar(w io.Writer, busybox []byte, applets []string, mtime time.Time) error {
	type entry struct {
		h    tar.Header
		body []byte
	}
	entries := map[string]entry{}
	dir := func(name string, mode int64) {
		entries[name] = entry{h: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}}
	}
	file := func(name string, mode int64, body []byte) {
		entries[name] = entry{h: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body))}, body: body}
	}
	for _, d := range []string{"bin", "dev", "etc", "home", "proc", "sbin", "sys", "usr", "usr/bin", "usr/sbin", "var", "var/spool", "var/spool/mail", "var/www"} {
		dir(d, 0o755)
	}
	dir("root", 0o700)
	dir("tmp", 0o1777)
	file("bin/busybox", 0o755, busybox)
	file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\nsys:x:3:3:sys:/dev:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"))
	file("etc/group", 0o644, []byte("root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\ntty:x:5:\nwww-data:x:33:\nusers:x:100:\nnogroup:x:65534:\n"))
	for _, a := range applets {
		for d := path.Dir(a); d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				dir(d, 0o755)
			}
		}
		rel, err := filepath.Rel(path.Dir(a), "bin")
		if err != nil {
			return err
		}
		entries[a] = entry{h: tar.Header{Typeflag: tar.TypeSymlink, Name: a, Linkname: path.Join(rel, "busybox"), Mode: 0o777}}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names) // a parent sorts before what is in it
	tw := tar.NewWriter(w)
	for _, n := range names {
		e := entries[n]
		e.h.ModTime, e.h.Format = mtime, tar.FormatPAX
		e.h.Uname, e.h.Gname = "root", "root"
		if err := tw.WriteHeader(&e.h); err != nil {
			return err
		}
		if _, err := tw.Write(e.body); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (s *Store) bootstrapDebian(ctx context.Context, suite string, o BootstrapOptions) (Image, digest.Digest, error) {
	if suite == "" || strings.ContainsAny(suite, "/ \t\n") || strings.HasPrefix(suite, "-") {
		return Image{}, "", fmt.Errorf("bad suite %q", suite)
	}
	ref, err := parseNewRef("debian:" + suite)
	if err != nil {
		return Image{}, "", err
	}
	debootstrap, err := findDebootstrap()
	if err != nil {
		if err := aptInstall(ctx, "debootstrap", o.Progress); err != nil {
			return Image{}, "", err
		}
		if debootstrap, err = findDebootstrap(); err != nil {
			return Image{}, "", err
		}
	}
	mirror := o.Mirror
	if mirror == "" {
		mirror = hostDebianMirror()
	}
	work, err := os.MkdirTemp("", "berth-bootstrap-")
	if err != nil {
		return Image{}, "", err
	}
	defer func() {
		if err := removeBootstrapDir(work); err != nil {
			s.log.Error("bootstrap: work directory left behind", "dir", work, "error", err)
		}
	}()
	rootfs := filepath.Join(work, "rootfs")
	args := []string{"--variant=minbase", suite, rootfs, mirror}
	cmd := exec.CommandContext(ctx, debootstrap, args...)
	// Its own process group, so a cancel ends dpkg and the rest too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	var tail bytes.Buffer
	out := io.Writer(&tail)
	if o.Progress != nil {
		out = io.MultiWriter(&tail, o.Progress)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return Image{}, "", fmt.Errorf("debootstrap %s: %w: %s", strings.Join(args, " "), err, lastLines(tail.String(), 5))
	}
	// debootstrap unmounts what it mounted; a failure of that would put
	// the host's /proc or /dev into the image.
	if err := unmountUnder(rootfs); err != nil {
		return Image{}, "", err
	}
	if err := stripDebian(rootfs); err != nil {
		return Image{}, "", err
	}
	created := time.Now().UTC()
	changes, err := ParseChanges([]string{"ENV " + basePath, `CMD ["bash"]`})
	if err != nil {
		return Image{}, "", err
	}
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: s.platform.OS, Architecture: s.platform.Architecture, Variant: s.platform.Variant},
		History: []ocispec.History{{
			Created:   &created,
			CreatedBy: "berth image bootstrap debian:" + suite,
			Comment:   "debootstrap " + strings.Join(args[:2], " ") + " " + mirror,
		}},
	}
	if err := ApplyChanges(&cfg.Config, changes); err != nil {
		return Image{}, "", err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(withEmptyDir(func(empty string) error {
			return layer.DiffDirs(ctx, pw, empty, rootfs, layer.DiffOptions{})
		}))
	}()
	defer pr.Close()
	return s.importLayer(ctx, pr, cfg, ref)
}

// findDebootstrap returns the debootstrap program (in /usr/sbin, which a
// user's PATH may lack).
func findDebootstrap() (string, error) {
	if p, err := exec.LookPath("debootstrap"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/debootstrap", "/sbin/debootstrap"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("debootstrap is not installed")
}

// stripDebian removes what an image does not need: downloaded packages,
// apt lists, logs, and the device nodes debootstrap made (a runtime
// makes /dev).
func stripDebian(rootfs string) error {
	for _, d := range []string{"var/cache/apt/archives", "var/lib/apt/lists", "var/log", "dev", "tmp", "var/tmp"} {
		if err := emptyDir(filepath.Join(rootfs, d)); err != nil {
			return err
		}
	}
	bins, _ := filepath.Glob(filepath.Join(rootfs, "var/cache/apt/*.bin"))
	for _, b := range bins {
		if err := os.Remove(b); err != nil {
			return err
		}
	}
	return nil
}

// emptyDir removes what dir holds, but keeps the directories apt and
// dpkg expect (partial/) and dir itself. It does not follow a symlink
// at dir.
func emptyDir(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() && e.Name() == "partial" {
			if err := emptyDir(p); err != nil {
				return err
			}
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}

// hostDebianMirror is the Debian archive this host's apt sources name
// (the one with the main suites, not security), else deb.debian.org.
func hostDebianMirror() string {
	var files []string
	for _, g := range []string{"/etc/apt/sources.list", "/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := debianMirror(string(b), strings.HasSuffix(f, ".sources")); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

// debianMirror finds a Debian archive URI in an apt sources file, one-line
// (deb URI SUITE COMPONENTS) or deb822 (URIs:, Suites:) format.
func debianMirror(text string, deb822 bool) string {
	ok := func(uri string) bool {
		return (strings.HasPrefix(uri, "http://") || strings.HasPrefix(uri, "https://")) &&
			strings.HasSuffix(strings.TrimSuffix(uri, "/"), "/debian")
	}
	if !deb822 {
		sc := bufio.NewScanner(strings.NewReader(text))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 3 || f[0] != "deb" {
				continue
			}
			i := 1
			if strings.HasPrefix(f[i], "[") { // [ options ]
				for i < len(f) && !strings.HasSuffix(f[i], "]") {
					i++
				}
				i++
			}
			if i < len(f) && ok(f[i]) {
				return strings.TrimSuffix(f[i], "/")
			}
		}
		return ""
	}
	for _, stanza := range strings.Split(text, "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, found := strings.Cut(line, ":"); found && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
				fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if !strings.Contains(" "+fields["types"]+" ", " deb ") || strings.EqualFold(fields["enabled"], "no") {
			continue
		}
		for _, uri := range strings.Fields(fields["uris"]) {
			if ok(uri) {
				return strings.TrimSuffix(uri, "/")
			}
		}
	}
	return ""
}

// removeBootstrapDir removes a debootstrap work directory: first every
// mount under it (debootstrap mounts /proc and /sys, maybe binds /dev,
// into its target and a killed one leaves them), then the tree, and only
// if no mount is left, so the host's /dev is never removed through one.
func removeBootstrapDir(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// unmountUnder detaches every mount below dir, deepest first, and checks
// none is left.
func unmountUnder(dir string) error {
	for try := 0; try < 3; try++ {
		mps, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mps) == 0 {
			return nil
		}
		sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
		for _, mp := range mps {
			if err := unix.Unmount(mp, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
				return fmt.Errorf("unmount %s: %w", mp, err)
			}
		}
	}
	return fmt.Errorf("mounts under %s remain after unmounting", dir)
}

// mountsUnder lists the mount points strictly below dir from
// /proc/self/mountinfo.
func mountsUnder(dir string) ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	prefix := filepath.Clean(dir) + "/"
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if strings.HasPrefix(mp, prefix) {
			out = append(out, mp)
		}
	}
	return out, nil
}

// unescapeMountinfo decodes the \ooo octal escapes of mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
