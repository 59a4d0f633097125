package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// maxChain bounds how many rotated files a reader looks for.
const maxChain = 1024

// logFile is one opened file of a log.
type logFile struct {
	f  *os.File
	fi os.FileInfo // identity, for os.SameFile
}

// openChain opens path, path.1, path.2, ... newest first, up to the end
// of the chain, or up to the file stop (not included; found reports
// meeting it). Files met twice (a rotation moved one while we were
// opening) are skipped by identity. The end of the chain is two missing
// numbers in a row, not one: during a rotation's renames (path.(k-1) →
// path.k, k going down) one number is missing for a moment, and stopping
// there would skip the files above.
//
// While one rotation's renames run, a file moves one step up and the
// order seen stays right; a rotation completing during the walk (the
// live file changed) could show a newer file after an older one, so the
// walk starts over then.
func openChain(path string, stop os.FileInfo) (files []logFile, found bool, err error) {
	for try := 0; ; try++ {
		before, _ := os.Stat(path)
		files, found, err = walkChain(path, stop)
		if err != nil {
			return nil, false, err
		}
		after, _ := os.Stat(path)
		if sameOrBothMissing(before, after) || try == 4 {
			return files, found, nil
		}
		closeFiles(files)
	}
}

func sameOrBothMissing(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b)
}

// walkChain is one walk of openChain.
func walkChain(path string, stop os.FileInfo) (files []logFile, found bool, err error) {
	missing := 0
	for i := 0; i <= maxChain && missing < 2; i++ {
		name := path
		if i > 0 {
			name = rotatedName(path, i)
		}
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			// The live file may also be missing between unlink and
			// create (MaxFiles 1), or not made yet: look on.
			missing++
			continue
		}
		missing = 0
		if err != nil {
			closeFiles(files)
			return nil, false, fmt.Errorf("open log file: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			closeFiles(files)
			return nil, false, fmt.Errorf("stat log file %s: %w", name, err)
		}
		if stop != nil && os.SameFile(fi, stop) {
			f.Close()
			return files, true, nil
		}
		if seen(files, fi) {
			f.Close()
			continue
		}
		files = append(files, logFile{f: f, fi: fi})
	}
	return files, false, nil
}

// openNewer opens the files newer than stop, newest first, as openChain.
// Not meeting stop means it was rotated out of the chain (a reader more
// than MaxFiles-1 rotations behind), or that the chain was seen in the
// middle of renames twice: asked again, the latter goes away.
func openNewer(path string, stop os.FileInfo) (files []logFile, found bool, err error) {
	for try := 0; ; try++ {
		files, found, err = openChain(path, stop)
		if err != nil || found || stop == nil || try == 2 {
			return files, found, err
		}
		closeFiles(files)
		time.Sleep(time.Millisecond)
	}
}

func seen(files []logFile, fi os.FileInfo) bool {
	for _, lf := range files {
		if os.SameFile(lf.fi, fi) {
			return true
		}
	}
	return false
}

func closeFiles(files []logFile) {
	for _, lf := range files {
		lf.f.Close()
	}
}
