package spec

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// parseSeeds are config.json documents for FuzzParse: valid ones to mutate
// and hostile ones.
var parseSeeds = []string{
	`{"ociVersion":"1.0.2-dev","root":{"path":"rootfs"},"process":{"args":["true"],"cwd":"/"},"linux":{"namespaces":[{"type":"mount"}]}}`,
	`null`,
	`{}`,
	``,
	`[]`,
	`"string"`,
	`{"root":null,"linux":null,"process":null}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"},{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"},{"type":"user"}],"uidMappings":[{"containerID":0,"hostID":0,"size":0}]}}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"}],"sysctl":{"kernel.core_pattern":"|/bin/sh"}}}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"},{"type":"network"}],"sysctl":{"net/../kernel/core_pattern":"|/x"}}}`,
	`{"root":{"path":"rootfs"},"mounts":[{"destination":"/proc\u0000x","type":"proc","source":"proc"}],"linux":{"namespaces":[{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"mounts":[{"destination":"/x","options":["rbind","idmap","mode=0755,suid"]}],"linux":{"namespaces":[{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":18446744073709551615,"hard":1}]},"linux":{"namespaces":[{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","oomScoreAdj":-99999999999},"linux":{"namespaces":[{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/","capabilities":{"bounding":["CAP_ſYS_ADMIN","cap_sys_admin","ALL"]}},"linux":{"namespaces":[{"type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"hostname":"x","linux":{"namespaces":[{"type":"mount"},{"type":"uts","path":"/proc/1/ns/uts"}]}}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"},{"type":"time"}],"timeOffsets":{"realtime":{"secs":1}}}}`,
	`{"root":{"path":"rootfs"},"linux":{"namespaces":[{"type":"mount"}],"devices":[{"path":"dev/x","type":"c"}]}}`,
	`{"root":{"path":"a"},"ROOT":{"path":""},"Linux":{"Namespaces":[{"Type":"mount"}]}}`,
	`{"root":{"path":"rootfs"},"root":{"path":""}}`,
	`{"process":{"args":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}`,
	`{"ociVersion":"\ud800\udfff\uffff\xff"}`,
	`{"process":{"user":{"uid":4294967296}}}`,
	`{"process":{"consoleSize":{"height":1e309}}}`,
}

// FuzzParse feeds arbitrary documents to Parse: it must never panic, and a
// spec it accepts must pass Validate again and survive a round trip through
// JSON.
func FuzzParse(f *testing.F) {
	// The default config without its seccomp profile: compiling Docker's
	// whole profile on every run would slow fuzzing tenfold. A small
	// profile stands for it (FuzzBuild in runtime/seccomp covers profiles).
	d := mustDefault(f)
	d.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno, DefaultErrnoRet: d.Linux.Seccomp.DefaultErrnoRet,
		Architectures: d.Linux.Seccomp.Architectures,
		Syscalls:      d.Linux.Seccomp.Syscalls[:1],
	}
	d.Linux.Seccomp.Syscalls[0].Names = d.Linux.Seccomp.Syscalls[0].Names[:8]
	def, err := json.Marshal(d)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	d.Linux.Seccomp = nil
	Rootless(d)
	rl, _ := json.Marshal(d)
	f.Add(rl)
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a spec with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := Validate(s); err != nil {
			t.Fatalf("accepted spec fails Validate: %v", err)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal accepted spec: %v", err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("accepted spec rejected after a JSON round trip: %v\n%s", err, again)
		}
	})
}

// FuzzParseMountOptions feeds option lists (one option a line) to
// ParseMountOptions: it must never panic, and what it accepts must be
// consistent.
func FuzzParseMountOptions(f *testing.F) {
	for _, s := range []string{
		"",
		"nosuid\nnoexec\nnodev\nro",
		"rbind\nrprivate\nro",
		"ro\nrw\nsuid\nnosuid",
		"rro\nrrw\nrnoatime\nrrelatime\nrstrictatime\nrnodiratime",
		"mode=755\nsize=65536k\nstrictatime",
		"idmap",
		"ridmap",
		"mode=755,suid",
		"lowerdir=/a:/b\nupperdir=/u\nworkdir=/w",
		"tmpcopyup\nshared\nslave\nunbindable",
		"\x00\n\n,\nro\x00",
		"nosuid\x00suid",
	} {
		f.Add(s)
	}
	flagOpts := map[string]bool{}
	var knownFlags uintptr
	for name, fl := range mountFlags {
		flagOpts[name] = true
		knownFlags |= fl.flag
	}
	f.Fuzz(func(t *testing.T, list string) {
		opts := strings.Split(list, "\n")
		o, err := ParseMountOptions(opts)
		if err != nil {
			return
		}
		if o.Flags&o.Clear != 0 {
			t.Fatalf("flags %#x both set and cleared (%#x)", o.Flags, o.Clear)
		}
		if o.Flags&^knownFlags != 0 || o.Clear&^knownFlags != 0 {
			t.Fatalf("unknown flags %#x / %#x", o.Flags, o.Clear)
		}
		if both := o.RecAttrSet & o.RecAttrClr &^ unix.MOUNT_ATTR__ATIME; both != 0 {
			t.Fatalf("recursive attributes %#x both set and cleared", both)
		}
		if o.RecAttrSet&unix.MOUNT_ATTR__ATIME != 0 && o.RecAttrClr&unix.MOUNT_ATTR__ATIME != unix.MOUNT_ATTR__ATIME {
			t.Fatalf("atime mode %#x set without clearing MOUNT_ATTR__ATIME", o.RecAttrSet&unix.MOUNT_ATTR__ATIME)
		}
		var data []string
		props := 0
		for _, opt := range opts {
			if opt == "idmap" || opt == "ridmap" {
				t.Fatalf("%q accepted", opt)
			}
			if strings.Contains(opt, ",") {
				t.Fatalf("option %q with a comma accepted", opt)
			}
			if _, ok := propagationFlags[opt]; ok {
				props++
				continue
			}
			_, rec := recursiveAttrs[opt]
			_, recAtime := recursiveAtime[opt]
			if opt == "" || opt == "tmpcopyup" || flagOpts[opt] || rec || recAtime {
				continue
			}
			data = append(data, opt)
		}
		if len(o.Propagation) != props {
			t.Fatalf("%d propagation changes for %d options", len(o.Propagation), props)
		}
		if want := strings.Join(data, ","); o.Data != want {
			t.Fatalf("data %q, want %q", o.Data, want)
		}
	})
}
