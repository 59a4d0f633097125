package ocispec

import (
	"fmt"
	"strings"
)

// ipcSysctls are the IPC-namespaced sysctls Docker allows by name.
var ipcSysctls = map[string]bool{
	"kernel.msgmax": true, "kernel.msgmnb": true, "kernel.msgmni": true, "kernel.sem": true,
	"kernel.shmall": true, "kernel.shmmax": true, "kernel.shmmni": true, "kernel.shm_rmid_forced": true,
}

// sysctls parses --sysctl KEY=VALUE values, allowing only the namespaced
// ones Docker allows (the IPC ones above, fs.mqueue.*, net.*), and net.*
// only when the container has its own network namespace: with the host's,
// they would change the host.
func sysctls(list []string, hostNet bool) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, v := range list {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--sysctl %s: sysctl '%s' is not allowed (want KEY=VALUE)", v, v)
		}
		if strings.ContainsAny(k, "/\x00 ") || strings.Contains(k, "..") || strings.HasSuffix(k, ".") || strings.ContainsRune(val, 0) {
			return nil, fmt.Errorf("--sysctl %s: invalid sysctl name %q", v, k)
		}
		switch {
		case ipcSysctls[k], strings.HasPrefix(k, "fs.mqueue."):
		case strings.HasPrefix(k, "net."):
			if hostNet {
				return nil, fmt.Errorf("--sysctl %s: not allowed in host network mode", v)
			}
		default:
			return nil, fmt.Errorf("--sysctl %s: sysctl '%s' is not allowed", v, v)
		}
		out[k] = val
	}
	return out, nil
}
