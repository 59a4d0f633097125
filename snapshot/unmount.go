package snapshot

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Unmount unmounts everything mounted on target, the most recent mount
// first. A target that does not exist or is not a mount point is not an
// error, so Unmount suits cleanup paths.
//
// A busy mount (EBUSY: a process has its working directory or an open
// file there) is retried for about a second; if it is still busy it is
// detached lazily (MNT_DETACH): target is free at once, and the
// filesystem goes away when its last user does. The snapshot underneath
// must then not be removed until those users are gone.
func Unmount(target string) error {
	for range 1000 {
		err := unmountOne(target)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 1000 unmounts", target)
}

func unmountOne(target string) error {
	var err error
	for range 50 {
		err = unix.Unmount(target, unix.UMOUNT_NOFOLLOW)
		if !errors.Is(err, unix.EBUSY) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
	return unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
}
