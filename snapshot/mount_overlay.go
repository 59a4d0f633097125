package snapshot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// pageSize bounds the data mount(2) copies from user space: one page,
// including the terminating NUL.
func pageSize() int { return os.Getpagesize() }

// overlayOpts is an overlay mount's options taken apart.
type overlayOpts struct {
	lower  []string
	other  []string // upperdir=, workdir=, index=off, ...
	flags  uintptr
	attrs  int
	hasLow bool
}

func parseOverlay(opts Options) (overlayOpts, error) {
	o := overlayOpts{flags: opts.Flags, attrs: opts.Attrs}
	for _, d := range opts.FSData {
		if v, ok := strings.CutPrefix(d, "lowerdir="); ok {
			if o.hasLow {
				return o, errors.New("overlay: more than one lowerdir option")
			}
			o.hasLow = true
			o.lower = SplitLowerDirs(v)
			for _, l := range o.lower {
				if l == "" {
					return o, fmt.Errorf("overlay: empty path in lowerdir %q", v)
				}
			}
			continue
		}
		o.other = append(o.other, d)
	}
	if !o.hasLow {
		return o, errors.New("overlay: no lowerdir option")
	}
	if len(o.lower) > MaxLayers {
		return o, fmt.Errorf("overlay: %d lower layers, the kernel stacks at most %d: %w", len(o.lower), MaxLayers, ErrTooManyLayers)
	}
	return o, nil
}

func (mr Mounter) mountOverlay(m Mount, opts Options, target string) error {
	o, err := parseOverlay(opts)
	if err != nil {
		return err
	}
	if !mr.LegacyOverlay {
		err := mountOverlayFD(o, target)
		if !errors.Is(err, errNoNewAPI) {
			return err
		}
	}
	return mountOverlayLegacy(m.Source, o, target)
}

// errNoNewAPI means the kernel lacks fsopen or "lowerdir+" (before 6.8).
var errNoNewAPI = errors.New("new mount API for overlay not available")

// mountOverlayFD mounts with the new mount API: one fsconfig call per
// lower layer, so the list has no length limit.
func mountOverlayFD(o overlayOpts, target string) error {
	if !lowerdirPlus() {
		return errNoNewAPI
	}
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			return errNoNewAPI
		}
		return fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fd)
	for i, l := range o.lower {
		if err := unix.FsconfigSetString(fd, "lowerdir+", l); err != nil {
			// Before 6.8 "lowerdir+" is an unknown parameter (EINVAL).
			if i == 0 && errors.Is(err, unix.EINVAL) {
				return errNoNewAPI
			}
			return fmt.Errorf("overlay lower layer %s: %w%s", l, err, logSuffix(fd))
		}
	}
	for _, d := range o.other {
		k, v, isKV := strings.Cut(d, "=")
		if isKV {
			err = unix.FsconfigSetString(fd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fd, k)
		}
		if err != nil {
			return fmt.Errorf("overlay option %s: %w%s", d, err, logSuffix(fd))
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("create overlay: %w%s", err, logSuffix(fd))
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, o.attrs)
	if err != nil {
		return fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount overlay to %s: %w", target, err)
	}
	return nil
}

// lowerdirPlus tells whether overlay takes "lowerdir+" through fsconfig
// (kernel 6.8 and later). Overlay before 6.5 still parses its options
// the legacy way: fsconfig accepts any key there, only to join them into
// one page-sized string and fail at create time. So an unknown key being
// accepted also means no.
func lowerdirPlus() bool {
	fd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if unix.FsconfigSetFlag(fd, "berth-probe-unknown-option") == nil {
		return false
	}
	return unix.FsconfigSetString(fd, "lowerdir+", "/") == nil
}

// fsLog drains the messages the kernel queued on a filesystem context,
// which say which option it disliked and why.
func fsLog(fd int) string {
	var msgs []string
	buf := make([]byte, 1024)
	for range 32 {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			break
		}
		msgs = append(msgs, strings.TrimSpace(string(buf[:n])))
	}
	return strings.Join(msgs, "; ")
}

func logSuffix(fd int) string {
	if l := fsLog(fd); l != "" {
		return " (" + l + ")"
	}
	return ""
}

// mountOverlayLegacy uses mount(2). When the options do not fit in a page,
// the lower layers are given relative to their common directory, from a
// thread whose working directory is that directory (Docker's overlay2 and
// containerd do the same).
func mountOverlayLegacy(source string, o overlayOpts, target string) error {
	if source == "" {
		source = "overlay"
	}
	data := overlayData(o.lower, o.other)
	if len(data) < pageSize() {
		return unix.Mount(source, target, "overlay", o.flags, data)
	}
	dir, lower, other := compactOverlay(o.lower, o.other)
	data = overlayData(lower, other)
	if dir == "" || len(data) >= pageSize() {
		return fmt.Errorf("overlay options are %d bytes even with relative layer paths, mount(2) takes at most %d: %w", len(data), pageSize()-1, ErrTooManyLayers)
	}
	// The target is made absolute first: the mount runs elsewhere.
	abs, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	return mountFrom(dir, source, abs, o.flags, data)
}

func overlayData(lower, other []string) string {
	return strings.Join(append([]string{"lowerdir=" + JoinLowerDirs(lower)}, other...), ",")
}

// compactOverlay rewrites the lower dirs (and upperdir/workdir where it
// helps) relative to the lower dirs' common parent directory.
func compactOverlay(lower, other []string) (string, []string, []string) {
	dir := commonDir(lower)
	if dir == "" || dir == "/" {
		return "", lower, other
	}
	rel := make([]string, len(lower))
	for i, l := range lower {
		r, err := filepath.Rel(dir, l)
		if err != nil {
			return "", lower, other
		}
		rel[i] = r
	}
	out := make([]string, 0, len(other))
	for _, d := range other {
		k, v, _ := strings.Cut(d, "=")
		if (k == "upperdir" || k == "workdir") && filepath.IsAbs(v) {
			if r, err := filepath.Rel(dir, v); err == nil && len(r) < len(v) {
				d = k + "=" + r
			}
		}
		out = append(out, d)
	}
	return dir, rel, out
}

// commonDir returns the deepest directory that contains every path, or ""
// if a path is relative.
func commonDir(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return ""
		}
	}
	common := filepath.Dir(filepath.Clean(paths[0]))
	for _, p := range paths[1:] {
		p = filepath.Clean(p)
		for common != "/" && !strings.HasPrefix(p, common+"/") {
			common = filepath.Dir(common)
		}
	}
	return common
}

// mountFrom runs mount(2) with dir as working directory. The chdir must not
// affect the rest of the process, so it happens on a locked thread that
// first unshares its filesystem attributes; that thread is never unlocked,
// so the Go runtime ends it instead of reusing it.
func mountFrom(dir, source, target string, flags uintptr, data string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			errc <- fmt.Errorf("unshare CLONE_FS: %w", err)
			return
		}
		if err := unix.Chdir(dir); err != nil {
			errc <- fmt.Errorf("chdir %s: %w", dir, err)
			return
		}
		errc <- unix.Mount(source, target, "overlay", flags, data)
	}()
	return <-errc
}
