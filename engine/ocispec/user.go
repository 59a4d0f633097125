package ocispec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"berth/runtime/inroot"
)

// maxIDFile bounds how much of an image's passwd or group file is read.
const maxIDFile = 16 << 20

// maxID is the largest uid or gid Docker accepts (moby/sys/user's range).
const maxID = 1<<31 - 1

// ResolveUser turns -u (or the image's User) into process.user the way
// Docker's daemon does with moby/sys/user's GetExecUser: "name", "uid",
// "name:group" or "uid:gid"; names are looked up in the rootfs' own
// /etc/passwd and /etc/group (never the host's: the files are opened
// inside the rootfs, so a symlink in the image cannot point out of it);
// numeric ids need no entry. The additional gids are the primary gid and,
// when no group was given, the groups listing the user as a member.
func ResolveUser(rootfs, spec string) (specs.User, error) {
	userArg, groupArg, _ := strings.Cut(spec, ":")
	uidArg, uidErr := strconv.Atoi(userArg)
	gidArg, gidErr := strconv.Atoi(groupArg)
	if strings.ContainsRune(spec, 0) {
		return specs.User{}, fmt.Errorf("-u %q: contains a NUL byte", spec)
	}

	var root *os.File
	if rootfs != "" {
		r, err := os.Open(rootfs)
		if err != nil {
			return specs.User{}, fmt.Errorf("open rootfs: %w", err)
		}
		defer r.Close()
		root = r
	}

	uid, gid := 0, 0
	matched := ""
	users, err := readIDFile(root, "/etc/passwd", func(r io.Reader) (int, error) {
		list, err := parsePasswd(r, func(e passwdEntry) bool {
			switch {
			case userArg == "":
				return e.UID == 0
			case uidErr == nil:
				return e.UID == uidArg
			default:
				return e.Name == userArg
			}
		})
		if len(list) > 0 {
			matched, uid, gid = list[0].Name, list[0].UID, list[0].GID
		}
		return len(list), err
	})
	if err != nil {
		return specs.User{}, fmt.Errorf("unable to find user %s: %w", orDefault(userArg, "0"), err)
	}
	if users == 0 && userArg != "" {
		if uidErr != nil {
			return specs.User{}, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
		}
		if uidArg < 0 || uidArg > maxID {
			return specs.User{}, fmt.Errorf("-u %s: uids and gids must be in range 0-%d", spec, maxID)
		}
		uid = uidArg
	}

	var sgids []int
	if groupArg != "" || matched != "" {
		var found []groupEntry
		_, err := readIDFile(root, "/etc/group", func(r io.Reader) (int, error) {
			list, err := parseGroup(r, func(g groupEntry) bool {
				switch {
				case groupArg == "":
					for _, m := range g.Members {
						if m == matched {
							return true
						}
					}
					return false
				case gidErr == nil:
					return g.GID == gidArg
				default:
					return g.Name == groupArg
				}
			})
			found = list
			return len(list), err
		})
		if err != nil {
			return specs.User{}, fmt.Errorf("unable to find groups for spec %s: %w", matched, err)
		}
		switch {
		case groupArg != "" && len(found) > 0:
			gid = found[0].GID
		case groupArg != "":
			if gidErr != nil {
				return specs.User{}, fmt.Errorf("unable to find group %s: no matching entries in group file", groupArg)
			}
			if gidArg < 0 || gidArg > maxID {
				return specs.User{}, fmt.Errorf("-u %s: uids and gids must be in range 0-%d", spec, maxID)
			}
			gid = gidArg
		default:
			for _, g := range found {
				sgids = append(sgids, g.GID)
			}
		}
	}
	if uid < 0 || uid > maxID || gid < 0 || gid > maxID {
		return specs.User{}, fmt.Errorf("-u %s: the image's passwd or group file gives an id out of range 0-%d", orDefault(spec, "root"), maxID)
	}
	u := specs.User{UID: uint32(uid), GID: uint32(gid), AdditionalGids: []uint32{uint32(gid)}}
	for _, g := range sgids {
		if g < 0 || g > maxID {
			continue // a broken group line is not worth failing the container for
		}
		if !containsGid(u.AdditionalGids, uint32(g)) {
			u.AdditionalGids = append(u.AdditionalGids, uint32(g))
		}
	}
	return u, nil
}

// readIDFile opens name inside root and hands it to parse. A missing file
// (or no rootfs) counts as empty, as Docker treats it. Only a regular file
// is read, so a fifo or device planted by the image cannot block or
// flood the engine.
func readIDFile(root *os.File, name string, parse func(io.Reader) (int, error)) (int, error) {
	if root == nil {
		return 0, nil
	}
	f, err := inroot.Open(root, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open %s in the rootfs: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat %s in the rootfs: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return 0, fmt.Errorf("%s in the rootfs is not a regular file", name)
	}
	return parse(io.LimitReader(f, maxIDFile))
}

func containsGid(list []uint32, g uint32) bool {
	for _, x := range list {
		if x == g {
			return true
		}
	}
	return false
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
