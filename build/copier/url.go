package copier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// Download is a URL fetched to a local file for ADD.
type Download struct {
	// Path is the local file holding the body.
	Path string
	// Name is the file name taken from the URL's path ("" if none).
	Name string
	// ModTime is the Last-Modified time, zero when the server sent none.
	ModTime time.Time
}

// Fetch downloads rawURL into a new file in dir. Docker's rules: only
// http and https, a status other than 200 is an error, and a host that
// cannot be reached is reported as such (berth may run without network).
func Fetch(ctx context.Context, client *http.Client, rawURL, dir string) (Download, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Download{}, fmt.Errorf("invalid URL %q", rawURL)
	}
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Download{}, fmt.Errorf("download %s: %w", rawURL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return Download{}, fmt.Errorf("download %s: cannot reach it (is the network available?): %w", rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Download{}, fmt.Errorf("download %s: failed to GET with status %s", rawURL, resp.Status)
	}
	f, err := os.CreateTemp(dir, "add-url-*")
	if err != nil {
		return Download{}, fmt.Errorf("download %s: %w", rawURL, err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(f.Name())
		return Download{}, fmt.Errorf("download %s: %w", rawURL, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return Download{}, fmt.Errorf("download %s: %w", rawURL, err)
	}
	d := Download{Path: f.Name(), Name: path.Base(u.Path)}
	if d.Name == "/" || d.Name == "." {
		d.Name = ""
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			d.ModTime = t
		}
	}
	return d, nil
}

// addURL downloads (or takes from o.Fetched) the URL s and writes it to
// destRel: inside it under the URL's file name when it is a directory,
// else as that file. Docker gives downloaded files mode 0600, the
// Last-Modified time, and does not unpack them.
func (c *copier) addURL(s, destRel string, destIsDir bool) error {
	d, ok := c.o.Fetched[s]
	if !ok {
		tmp, err := os.MkdirTemp("", "berth-add-")
		if err != nil {
			return fmt.Errorf("add %s: %w", s, err)
		}
		defer os.RemoveAll(tmp)
		if d, err = Fetch(c.ctx, c.o.HTTPClient, s, tmp); err != nil {
			return err
		}
	}
	parentRel, name := destRel, d.Name
	if destIsDir {
		if name == "" {
			return fmt.Errorf("add %s: cannot determine a file name from the URL; give a destination file name", s)
		}
	} else {
		parentRel, name = path.Dir("/"+destRel), path.Base("/"+destRel)
	}
	pfd, err := c.dst.mkdirAll(parentRel, c.o.Chown)
	if err != nil {
		return fmt.Errorf("add %s: destination: %w", s, err)
	}
	defer unix.Close(pfd)
	in, err := unix.Open(d.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("add %s: %w", s, err)
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return fmt.Errorf("add %s: %w", s, err)
	}
	st.Mode = unix.S_IFREG | 0o600
	st.Nlink = 1
	mt := d.ModTime
	if mt.IsZero() {
		mt = time.Now()
	}
	st.Mtim = unix.NsecToTimespec(mt.UnixNano())
	st.Atim = st.Mtim
	var cur unix.Stat_t
	if unix.Fstatat(pfd, name, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil {
		if cur.Mode&unix.S_IFMT == unix.S_IFDIR {
			return fmt.Errorf("add %s: cannot overwrite directory /%s with non-directory", s, path.Join(parentRel, name))
		}
		if err := unix.Unlinkat(pfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("add %s: %w", s, err)
		}
	}
	return c.copyFile(in, &st, s, pfd, path.Join(parentRel, name), name)
}
