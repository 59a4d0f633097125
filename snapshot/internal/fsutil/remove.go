package fsutil

import (
	"fmt"
	"os"
	"strings"
)

// RemoveAll removes dir and everything below it, unless something is
// mounted there: deleting through a mount would destroy the mounted
// filesystem's files (a container rootfs bound onto a snapshot, say).
func RemoveAll(dir string) error {
	mps, err := MountPointsUnder(dir)
	if err != nil {
		return err
	}
	if len(mps) > 0 {
		return fmt.Errorf("remove %s: still mounted at %s", dir, strings.Join(mps, ", "))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}
