package initproc

import (
	"fmt"
	"sort"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// writeSysctls writes linux.sysctl through a private procfs handle, with
// lookups that refuse to cross mounts or follow links, so an overmounted
// /proc/sys file cannot redirect the write (CVE-2025-52881).
func writeSysctls(sysctls map[string]string) error {
	if len(sysctls) == 0 {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	keys := make([]string, 0, len(sysctls))
	for k := range sysctls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := "sys/" + strings.ReplaceAll(k, ".", "/")
		h, err := proc.OpenRoot(path)
		if err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
		f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
		h.Close()
		if err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
		_, err = f.WriteString(sysctls[k])
		f.Close()
		if err != nil {
			return fmt.Errorf("sysctl %s = %q: %w", k, sysctls[k], err)
		}
	}
	return nil
}
