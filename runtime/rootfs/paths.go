package rootfs

import (
	"os"
	"strconv"

	"berth/runtime/inroot"
)

// fdPath names an open file for mount(2), which takes paths: the magic link
// in the runtime's own /proc, which no container process can reach.
func fdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// openInRoot opens path inside root (an O_PATH handle); symlinks are
// resolved as if root were "/", so nothing outside root is ever reached.
func openInRoot(root *os.File, path string) (*os.File, error) {
	return inroot.OpenPath(root, path)
}

// mkdirInRoot creates the directory path inside root and returns a handle.
func mkdirInRoot(root *os.File, path string, mode os.FileMode) (*os.File, error) {
	return inroot.MkdirAll(root, path, mode)
}

// targetInRoot returns a handle on the mount point for dest inside root,
// creating a directory or (when isFile) a file there. An existing symlink
// is followed inside root, as runc does for mount destinations.
func targetInRoot(root *os.File, dest string, isFile bool) (*os.File, error) {
	if isFile {
		return inroot.File(root, dest, 0o644)
	}
	return inroot.MkdirAll(root, dest, 0o755)
}
