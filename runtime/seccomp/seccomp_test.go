package seccomp

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func uptr(v uint) *uint { return &v }

// allowAll is a small valid profile tests start from.
func allowAll() *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uptr(13)},
		},
	}
}

func TestBuildValid(t *testing.T) {
	every := allowAll()
	ops := []specs.LinuxSeccompOperator{specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual,
		specs.OpEqualTo, specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual}
	for i, op := range ops {
		every.Syscalls = append(every.Syscalls, specs.LinuxSyscall{
			Names:  []string{"personality"},
			Action: specs.ActErrno,
			Args:   []specs.LinuxSeccompArg{{Index: uint(i % 6), Value: 8, ValueTwo: 8, Op: op}},
		})
	}
	every.Syscalls = append(every.Syscalls,
		specs.LinuxSyscall{Names: []string{"keyctl"}, Action: specs.ActKillProcess},
		specs.LinuxSyscall{Names: []string{"add_key"}, Action: specs.ActKill},
		specs.LinuxSyscall{Names: []string{"request_key"}, Action: specs.ActKillThread},
		specs.LinuxSyscall{Names: []string{"acct"}, Action: specs.ActTrap},
		specs.LinuxSyscall{Names: []string{"syslog"}, Action: specs.ActLog},
		specs.LinuxSyscall{Names: []string{"ptrace"}, Action: specs.ActTrace, ErrnoRet: uptr(1000)},
		// Two conditions on one argument: one rule each, as runc.
		specs.LinuxSyscall{Names: []string{"setns"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 1, Value: 0x20000, Op: specs.OpGreaterThan}, {Index: 1, Value: 0x80000, Op: specs.OpLessThan}}},
		// Redundant with the default action: skipped, not an error.
		specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow},
	)
	every.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
		"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagWaitKillableRecv}

	errnoDefault := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uptr(38),
		Syscalls:        []specs.LinuxSyscall{{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow}},
	}
	for name, cfg := range map[string]*specs.LinuxSeccomp{
		"small":         allowAll(),
		"every feature": every,
		"errno default": errnoDefault,
		"no rules":      {DefaultAction: specs.ActAllow},
	} {
		f, err := Build(cfg)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if f.Len() == 0 {
			t.Errorf("%s: empty program", name)
		}
	}
	f, err := Build(every)
	if err != nil {
		t.Fatal(err)
	}
	if f.Flags != 1<<1|1<<2 {
		t.Errorf("flags %#x, want LOG|SPEC_ALLOW and never TSYNC", f.Flags)
	}
}

func TestBuildIgnoresUnknownSyscall(t *testing.T) {
	cfg := allowAll()
	cfg.Syscalls = append(cfg.Syscalls, specs.LinuxSyscall{Names: []string{"no_such_syscall_berth", "chmod"}, Action: specs.ActErrno})
	f, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Ignored) != 1 || f.Ignored[0] != "no_such_syscall_berth" {
		t.Fatalf("ignored %q, want the unknown name only", f.Ignored)
	}
}

func TestBuildErrors(t *testing.T) {
	big := uint(1 << 20)
	tests := []struct {
		name string
		edit func(*specs.LinuxSeccomp)
		want string
	}{
		{"unknown default action", func(c *specs.LinuxSeccomp) { c.DefaultAction = "SCMP_ACT_FOO" },
			`linux.seccomp.defaultAction: unknown action "SCMP_ACT_FOO"`},
		{"no default action", func(c *specs.LinuxSeccomp) { c.DefaultAction = "" }, "linux.seccomp.defaultAction: required"},
		{"notify default", func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActNotify }, "SCMP_ACT_NOTIFY is not supported"},
		{"unknown rule action", func(c *specs.LinuxSeccomp) {
			c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"chmod"}}, specs.LinuxSyscall{Names: []string{"chmod"}, Action: "SCMP_ACT_FOO"})
		}, `linux.seccomp.syscalls[1].action: required`},
		{"unknown rule action 2", func(c *specs.LinuxSeccomp) {
			c.Syscalls = append(c.Syscalls, specs.LinuxSyscall{Names: []string{"chmod"}, Action: "SCMP_ACT_FOO"})
		}, `linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_FOO"`},
		{"lower-case action", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = "scmp_act_errno" },
			`linux.seccomp.syscalls[0].action: unknown action "scmp_act_errno"`},
		{"notify rule", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = specs.ActNotify },
			"linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY is not supported yet"},
		{"listener", func(c *specs.LinuxSeccomp) { c.ListenerPath = "/run/listener.sock" }, "linux.seccomp.listenerPath"},
		{"listener metadata", func(c *specs.LinuxSeccomp) { c.ListenerMetadata = "x" }, "linux.seccomp.listenerMetadata"},
		{"unknown flag", func(c *specs.LinuxSeccomp) {
			c.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_BOGUS"}
		},
			`linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"`},
		{"unknown arch", func(c *specs.LinuxSeccomp) { c.Architectures = append(c.Architectures, "SCMP_ARCH_Z80") },
			`linux.seccomp.architectures[3]: unknown architecture "SCMP_ARCH_Z80"`},
		{"unknown operator", func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: "SCMP_CMP_LIKE"}}
		}, `linux.seccomp.syscalls[0].args[1].op: unknown operator "SCMP_CMP_LIKE"`},
		{"empty operator", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0}} },
			`linux.seccomp.syscalls[0].args[0].op: unknown operator ""`},
		{"argument index", func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}
		}, "linux.seccomp.syscalls[0].args[0].index: 6 is not an argument index"},
		{"huge argument index", func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: ^uint(0), Op: specs.OpEqualTo}}
		}, "linux.seccomp.syscalls[0].args[0].index"},
		{"no names", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names = nil }, "linux.seccomp.syscalls[0].names: required"},
		{"empty name", func(c *specs.LinuxSeccomp) { c.Syscalls[0].Names = []string{"mkdir", ""} },
			"linux.seccomp.syscalls[0].names[1]: empty"},
		{"errno too large", func(c *specs.LinuxSeccomp) { c.Syscalls[0].ErrnoRet = &big }, "linux.seccomp.syscalls[0].errnoRet: errno 1048576"},
		{"errno 4096", func(c *specs.LinuxSeccomp) { c.Syscalls[0].ErrnoRet = uptr(4096) }, "linux.seccomp.syscalls[0].errnoRet"},
		{"trace data too large", func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Action = specs.ActTrace
			c.Syscalls[0].ErrnoRet = uptr(1 << 16)
		}, "linux.seccomp.syscalls[0].errnoRet"},
		{"errno on allow", func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActErrno
			c.Syscalls[0].Action = specs.ActAllow
		}, "linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_ALLOW returns no errno"},
		{"default errno on kill", func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActKillProcess
			c.DefaultErrnoRet = uptr(1)
		}, "linux.seccomp.defaultErrnoRet: SCMP_ACT_KILL_PROCESS returns no errno"},
		{"default errno too large", func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActErrno
			c.DefaultErrnoRet = &big
		}, "linux.seccomp.defaultErrnoRet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := allowAll()
			tt.edit(cfg)
			_, err := Build(cfg)
			if err == nil {
				t.Fatalf("Build succeeded, want an error with %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q", err, tt.want)
			}
			if Validate(cfg) == nil {
				t.Fatal("Validate accepts what Build refuses")
			}
		})
	}
	if _, err := Build(nil); err == nil {
		t.Error("Build(nil) succeeded")
	}
}

// TestLoadOnThread loads a filter on a locked thread that is then thrown
// away, and checks that the thread's system calls obey it while the rest
// of the test process is untouched.
func TestLoadOnThread(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.ENOTSUP))},
			{Names: []string{"personality"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EXDEV)),
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpNotEqual}}},
		},
	}
	f, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type result struct{ load, mkdir, persona, personaQuery error }
	done := make(chan result)
	go func() {
		// Never unlocked: the thread exits with the goroutine.
		runtime.LockOSThread()
		var r result
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			r.load = err
			done <- r
			return
		}
		r.load = f.Load()
		r.mkdir = unix.Mkdir(dir+"/filtered", 0o755)
		_, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, 8, 0, 0)
		if e != 0 {
			r.persona = e
		}
		_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
		if e != 0 {
			r.personaQuery = e
		}
		done <- r
	}()
	r := <-done
	if r.load != nil {
		t.Fatalf("load: %v", r.load)
	}
	if !errors.Is(r.mkdir, unix.ENOTSUP) {
		t.Errorf("mkdir on the filtered thread: %v, want ENOTSUP", r.mkdir)
	}
	if !errors.Is(r.persona, unix.EXDEV) {
		t.Errorf("personality(8) on the filtered thread: %v, want EXDEV", r.persona)
	}
	if r.personaQuery != nil {
		t.Errorf("personality(0xffffffff) is allowed by the condition but failed: %v", r.personaQuery)
	}
	if err := unix.Mkdir(dir+"/unfiltered", 0o755); err != nil {
		t.Errorf("mkdir elsewhere in the process: %v", err)
	}
}
