package seccomp

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzBuild compiles arbitrary linux.seccomp objects as they come from an
// untrusted config.json: Build must not panic, every error must name a
// linux.seccomp field, and every success must give a loadable-size program.
func FuzzBuild(f *testing.F) {
	seeds := []string{
		`{"defaultAction":"SCMP_ACT_ALLOW"}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],` +
			`"syscalls":[{"names":["read","write"],"action":"SCMP_ACT_ALLOW"},{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":0,"op":"SCMP_CMP_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"],` +
			`"syscalls":[{"names":["clone"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]}]}`,
		`{"defaultAction":"SCMP_ACT_FOO"}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_KILL","args":[{"index":9,"op":"SCMP_CMP_GT"}]}]}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_TRACE","errnoRet":70000}]}`,
		`{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}`,
		`{"defaultAction":"SCMP_ACT_LOG","syscalls":[{"names":["getpid","getpid"],"action":"SCMP_ACT_KILL_PROCESS"},{"names":["getpid"],"action":"SCMP_ACT_TRAP"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg specs.LinuxSeccomp
		if json.Unmarshal(data, &cfg) != nil {
			return
		}
		if len(cfg.Syscalls) > 64 {
			// Bounded work per input; size limits are config.json's.
			return
		}
		filter, err := Build(&cfg)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "linux.seccomp") {
				t.Fatalf("error %q does not name a linux.seccomp field", err)
			}
			return
		}
		if filter.Len() == 0 {
			t.Fatal("empty program")
		}
	})
}
