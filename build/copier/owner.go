package copier

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Owner is the numeric owner given to copied files.
type Owner struct {
	UID, GID int
}

// maxID is the largest uid or gid accepted (uid_t is 32 bits; -1 means
// "unchanged" to chown and is refused).
const maxID = 1<<32 - 2

// ResolveOwner turns a --chown value ("user", "user:group", "uid",
// "uid:gid", names or numbers) into numeric ids, reading names from
// destRoot's /etc/passwd and /etc/group (looked up inside destRoot, so a
// symlinked /etc/passwd cannot make it read the host's). Without a
// group the gid is the uid, as Docker documents for --chown.
func ResolveOwner(destRoot, spec string) (*Owner, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	if user == "" || (hasGroup && group == "") {
		return nil, fmt.Errorf("invalid --chown value %q: want user[:group]", spec)
	}
	uid, err := lookupID(destRoot, "etc/passwd", user, "user")
	if err != nil {
		return nil, err
	}
	gid := uid
	if hasGroup {
		if gid, err = lookupID(destRoot, "etc/group", group, "group"); err != nil {
			return nil, err
		}
	}
	return &Owner{UID: uid, GID: gid}, nil
}

// lookupID returns name as a number, or the id of the entry called name
// in the colon-separated database file (third field).
func lookupID(destRoot, file, name, what string) (int, error) {
	if n, err := strconv.ParseUint(name, 10, 64); err == nil {
		if n > maxID {
			return 0, fmt.Errorf("invalid --chown %s %q: out of range", what, name)
		}
		return int(n), nil
	}
	r, err := openRoot(destRoot)
	if err != nil {
		return 0, err
	}
	defer r.close()
	fd, err := r.open(file, unix.O_RDONLY)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, fmt.Errorf("unable to find %s %s: no /%s file", what, name, file)
		}
		return 0, fmt.Errorf("unable to find %s %s: open /%s: %w", what, name, file, err)
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	// A hostile rootfs may hold a huge or endless file (/etc/passwd ->
	// /dev/zero is kept inside the root, but a big file is not): read at
	// most 16 MiB.
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		n, err := strconv.ParseUint(fields[2], 10, 64)
		if err != nil || n > maxID {
			return 0, fmt.Errorf("unable to find %s %s: bad id %q in /%s", what, name, fields[2], file)
		}
		return int(n), nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("unable to find %s %s: read /%s: %w", what, name, file, err)
	}
	return 0, fmt.Errorf("unable to find %s %s: no matching entries in /%s", what, name, file)
}
