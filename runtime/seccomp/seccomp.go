// Package seccomp compiles the OCI `linux.seccomp` configuration into a
// seccomp BPF program with libseccomp; package seccompfilter loads it.
package seccomp

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"berth/runtime/seccompfilter"
)

// maxErrno is the largest errno the kernel returns (MAX_ERRNO); larger
// SECCOMP_RET_ERRNO data is clamped to it.
const maxErrno = 4095

// maxArgs is the number of system call arguments a condition can test.
const maxArgs = 6

// Filter is a compiled seccomp program (package seccompfilter, which
// init uses without this package's libseccomp).
type Filter = seccompfilter.Filter

// Build compiles cfg into a seccomp program for this host. Every error
// names the configuration field that is wrong, for example
// `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
// A system call name the host's libseccomp does not know is left out with
// a debug log, as runc does. SCMP_ACT_NOTIFY is not supported yet and is
// refused. As in runc, a rule that tests one argument more than once (which
// libseccomp cannot express) becomes one rule per condition.
func Build(cfg *specs.LinuxSeccomp) (*Filter, error) {
	return compile(cfg, true)
}

// Validate reports whether cfg compiles on this host, with the error Build
// would give, short of generating the program: that is most of Build's
// time, and its one failure that depends on cfg (a program longer than the
// kernel's limit) is still caught by Build before the container runs.
func Validate(cfg *specs.LinuxSeccomp) error {
	_, err := compile(cfg, false)
	return err
}

// optimizeLevel is libseccomp's optimization of the filters it compiles
// (2: a binary tree of system call numbers); part of the cache key.
const optimizeLevel = 2

// compile builds the libseccomp filter of cfg and, with gen, its program.
func compile(cfg *specs.LinuxSeccomp, gen bool) (*Filter, error) {
	if cfg == nil {
		return nil, errors.New("linux.seccomp: no configuration")
	}
	if cfg.ListenerPath != "" {
		return nil, errors.New("linux.seccomp.listenerPath: seccomp notification (SCMP_ACT_NOTIFY) is not supported yet")
	}
	if cfg.ListenerMetadata != "" {
		return nil, errors.New("linux.seccomp.listenerMetadata: seccomp notification (SCMP_ACT_NOTIFY) is not supported yet")
	}
	flags, err := loadFlags(cfg.Flags)
	if err != nil {
		return nil, err
	}
	defAct, err := action(cfg.DefaultAction, cfg.DefaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")
	if err != nil {
		return nil, err
	}
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: create filter: %w", err)
	}
	defer filter.Release()
	// The filter is loaded below by this package, not by libseccomp;
	// no_new_privs is process.noNewPrivileges' business.
	if err := filter.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("linux.seccomp: clear the filter's no_new_privs attribute: %w", err)
	}
	// A binary tree of system call numbers rather than libseccomp's
	// default linear list: a few comparisons per system call instead of up
	// to hundreds, and the kernel, which runs the filter for every system
	// call number when it is loaded (to cache the always-allowed ones),
	// loads Docker's profile in a fraction of the time.
	if err := filter.SetOptimize(optimizeLevel); err != nil {
		return nil, fmt.Errorf("linux.seccomp: binary tree optimization: %w", err)
	}
	for i, a := range cfg.Architectures {
		arch, ok := archFromSpec(a)
		if !ok {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, a)
		}
		if err := filter.AddArch(arch); err != nil {
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s: %w", i, a, err)
		}
	}
	f := &Filter{Flags: flags}
	for i, call := range cfg.Syscalls {
		ignored, err := addRule(filter, defAct, i, call)
		if err != nil {
			return nil, err
		}
		f.Ignored = append(f.Ignored, ignored...)
	}
	if !gen {
		for _, name := range f.Ignored {
			slog.Debug("seccomp: system call unknown to the host's libseccomp is ignored", "syscall", name)
		}
		return f, nil
	}
	f.Prog, err = export(filter)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// loadFlags turns linux.seccomp.flags into seccomp(2) flags.
func loadFlags(list []specs.LinuxSeccompFlag) (uintptr, error) {
	var flags uintptr
	for i, fl := range list {
		switch fl {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC":
			// Not needed: the filter is loaded on the only thread that
			// survives execve. Accepted, as runc does.
		case specs.LinuxSeccompFlagWaitKillableRecv:
			// Only changes how a notification listener's target waits;
			// without SCMP_ACT_NOTIFY (refused for now) there is none, and
			// the kernel refuses the flag without a listener.
		default:
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, fl)
		}
	}
	return flags, nil
}

// action converts an OCI action and its errno. field and errnoField name the
// configuration fields for errors.
func action(a specs.LinuxSeccompAction, errnoRet *uint, field, errnoField string) (libseccomp.ScmpAction, error) {
	var act libseccomp.ScmpAction
	switch a {
	case specs.ActKill, specs.ActKillThread:
		act = libseccomp.ActKillThread
	case specs.ActKillProcess:
		act = libseccomp.ActKillProcess
	case specs.ActTrap:
		act = libseccomp.ActTrap
	case specs.ActAllow:
		act = libseccomp.ActAllow
	case specs.ActLog:
		act = libseccomp.ActLog
	case specs.ActErrno:
		code := uint(unix.EPERM)
		if errnoRet != nil {
			if *errnoRet > maxErrno {
				return 0, fmt.Errorf("%s: errno %d is larger than %d", errnoField, *errnoRet, maxErrno)
			}
			code = *errnoRet
		}
		return libseccomp.ActErrno.SetReturnCode(int16(code)), nil
	case specs.ActTrace:
		code := uint(unix.EPERM)
		if errnoRet != nil {
			if *errnoRet > 0xffff {
				return 0, fmt.Errorf("%s: %d does not fit in 16 bits", errnoField, *errnoRet)
			}
			code = *errnoRet
		}
		return libseccomp.ActTrace.SetReturnCode(int16(uint16(code))), nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%s: SCMP_ACT_NOTIFY is not supported yet", field)
	case "":
		return 0, fmt.Errorf("%s: required", field)
	default:
		return 0, fmt.Errorf("%s: unknown action %q", field, a)
	}
	if errnoRet != nil {
		return 0, fmt.Errorf("%s: %s returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)", errnoField, a)
	}
	return act, nil
}

// operator converts an OCI argument comparison.
func operator(op specs.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, bool) {
	switch op {
	case specs.OpNotEqual:
		return libseccomp.CompareNotEqual, true
	case specs.OpLessThan:
		return libseccomp.CompareLess, true
	case specs.OpLessEqual:
		return libseccomp.CompareLessOrEqual, true
	case specs.OpEqualTo:
		return libseccomp.CompareEqual, true
	case specs.OpGreaterEqual:
		return libseccomp.CompareGreaterEqual, true
	case specs.OpGreaterThan:
		return libseccomp.CompareGreater, true
	case specs.OpMaskedEqual:
		return libseccomp.CompareMaskedEqual, true
	}
	return libseccomp.CompareInvalid, false
}

// addRule adds linux.seccomp.syscalls[i] and returns the names it left out
// because the host's libseccomp does not know them.
func addRule(filter *libseccomp.ScmpFilter, defAct libseccomp.ScmpAction, i int, call specs.LinuxSyscall) ([]string, error) {
	field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
	act, err := action(call.Action, call.ErrnoRet, field+".action", field+".errnoRet")
	if err != nil {
		return nil, err
	}
	if len(call.Names) == 0 {
		return nil, fmt.Errorf("%s.names: required", field)
	}
	conds := make([]libseccomp.ScmpCondition, 0, len(call.Args))
	var perArg [maxArgs]int
	sameArg := false
	for j, arg := range call.Args {
		afield := fmt.Sprintf("%s.args[%d]", field, j)
		op, ok := operator(arg.Op)
		if !ok {
			return nil, fmt.Errorf("%s.op: unknown operator %q", afield, arg.Op)
		}
		if arg.Index >= maxArgs {
			return nil, fmt.Errorf("%s.index: %d is not an argument index (0 to %d)", afield, arg.Index, maxArgs-1)
		}
		c, err := libseccomp.MakeCondition(arg.Index, op, arg.Value, arg.ValueTwo)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", afield, err)
		}
		conds = append(conds, c)
		perArg[arg.Index]++
		sameArg = sameArg || perArg[arg.Index] > 1
	}
	var ignored []string
	for j, name := range call.Names {
		if name == "" {
			return nil, fmt.Errorf("%s.names[%d]: empty system call name", field, j)
		}
		if act == defAct {
			// Redundant with the default action; libseccomp refuses it.
			continue
		}
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			ignored = append(ignored, name)
			continue
		}
		switch {
		case len(conds) == 0:
			err = filter.AddRule(nr, act)
		case sameArg:
			// libseccomp cannot test one argument twice in a rule. As
			// runc does, each condition then becomes a rule of its own
			// (so they match when any of them holds).
			for _, c := range conds {
				if err = filter.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = filter.AddRuleConditional(nr, act, conds)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: add rule for %s: %w", field, name, err)
		}
	}
	return ignored, nil
}

// export returns the filter's BPF program.
func export(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	fd, err := unix.MemfdCreate("berth-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: export filter: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "berth-seccomp")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, fmt.Errorf("linux.seccomp: export filter: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("linux.seccomp: export filter: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: export filter: %w", err)
	}
	const insn = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%insn != 0 {
		return nil, fmt.Errorf("linux.seccomp: export filter: %d bytes is not a BPF program", len(raw))
	}
	n := len(raw) / insn
	if n > unix.BPF_MAXINSNS {
		return nil, fmt.Errorf("linux.seccomp: the filter has %d instructions, more than the kernel's %d", n, unix.BPF_MAXINSNS)
	}
	prog := make([]unix.SockFilter, n)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&prog[0])), len(raw)), raw)
	return prog, nil
}

// archFromSpec maps an OCI architecture name to libseccomp's.
func archFromSpec(a specs.Arch) (libseccomp.ScmpArch, bool) {
	switch a {
	case specs.ArchX86:
		return libseccomp.ArchX86, true
	case specs.ArchX86_64:
		return libseccomp.ArchAMD64, true
	case specs.ArchX32:
		return libseccomp.ArchX32, true
	case specs.ArchARM:
		return libseccomp.ArchARM, true
	case specs.ArchAARCH64:
		return libseccomp.ArchARM64, true
	case specs.ArchMIPS:
		return libseccomp.ArchMIPS, true
	case specs.ArchMIPS64:
		return libseccomp.ArchMIPS64, true
	case specs.ArchMIPS64N32:
		return libseccomp.ArchMIPS64N32, true
	case specs.ArchMIPSEL:
		return libseccomp.ArchMIPSEL, true
	case specs.ArchMIPSEL64:
		return libseccomp.ArchMIPSEL64, true
	case specs.ArchMIPSEL64N32:
		return libseccomp.ArchMIPSEL64N32, true
	case specs.ArchPPC:
		return libseccomp.ArchPPC, true
	case specs.ArchPPC64:
		return libseccomp.ArchPPC64, true
	case specs.ArchPPC64LE:
		return libseccomp.ArchPPC64LE, true
	case specs.ArchS390:
		return libseccomp.ArchS390, true
	case specs.ArchS390X:
		return libseccomp.ArchS390X, true
	case specs.ArchPARISC:
		return libseccomp.ArchPARISC, true
	case specs.ArchPARISC64:
		return libseccomp.ArchPARISC64, true
	case specs.ArchRISCV64:
		return libseccomp.ArchRISCV64, true
	case specs.ArchLOONGARCH64:
		return libseccomp.ArchLOONGARCH64, true
	case specs.ArchM68K:
		return libseccomp.ArchM68K, true
	case specs.ArchSH:
		return libseccomp.ArchSH, true
	case specs.ArchSHEB:
		return libseccomp.ArchSHEB, true
	}
	return libseccomp.ArchInvalid, false
}
