package cgroups

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Device types in the context of a BPF_PROG_TYPE_CGROUP_DEVICE program.
const (
	bpfDevBlock = 1 // BPF_DEVCG_DEV_BLOCK
	bpfDevChar  = 2 // BPF_DEVCG_DEV_CHAR
)

// deviceProgram builds the BPF_PROG_TYPE_CGROUP_DEVICE program for rules.
// The kernel passes struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
// u32 minor; } with access_type = access<<16 | type. The program tests the
// rules from the last to the first and returns the verdict of the first that
// matches (so the last matching rule wins), else the default, which is deny
// unless a type "a" rule set it. An allow rule matches when it grants every
// requested access; a deny rule when it covers any of them.
func deviceProgram(rules []deviceRule) (asm.Instructions, error) {
	defaultAllow, rest := effectiveRules(rules)
	insts := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word),
		asm.And.Imm32(asm.R2, 0xffff), // type
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),                // access
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word), // major
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word), // minor
	}
	next := ""
	for i := len(rest) - 1; i >= 0; i-- {
		r := rest[i]
		block, err := ruleBlock(r, fmt.Sprintf("rule%d", i))
		if err != nil {
			return nil, err
		}
		if next != "" {
			block[0] = block[0].WithSymbol(next)
		}
		insts = append(insts, block...)
		next = fmt.Sprintf("rule%d", i)
	}
	tail := asm.Instructions{asm.Mov.Imm(asm.R0, verdict(defaultAllow)), asm.Return()}
	if next != "" {
		tail[0] = tail[0].WithSymbol(next)
	}
	return append(insts, tail...), nil
}

// ruleBlock tests one rule; on a mismatch it jumps to label skip, the start
// of the next test.
func ruleBlock(r deviceRule, skip string) (asm.Instructions, error) {
	var b asm.Instructions
	switch r.typ {
	case 'c':
		b = append(b, asm.JNE.Imm32(asm.R2, bpfDevChar, skip))
	case 'b':
		b = append(b, asm.JNE.Imm32(asm.R2, bpfDevBlock, skip))
	default:
		return nil, fmt.Errorf("device rule type %q in a program", r.typ)
	}
	if r.access&^accAll != 0 || r.access == 0 {
		return nil, fmt.Errorf("device rule access %#x in a program", r.access)
	}
	if r.access != accAll {
		b = append(b, asm.Mov.Reg32(asm.R6, asm.R3))
		if r.allow {
			// Every requested bit must be granted.
			b = append(b,
				asm.And.Imm32(asm.R6, int32(accAll&^r.access)),
				asm.JNE.Imm32(asm.R6, 0, skip))
		} else {
			// Any requested bit is refused.
			b = append(b,
				asm.And.Imm32(asm.R6, int32(r.access)),
				asm.JEq.Imm32(asm.R6, 0, skip))
		}
	}
	if r.major >= 0 {
		b = append(b, asm.JNE.Imm32(asm.R4, int32(uint32(r.major)), skip))
	}
	if r.minor >= 0 {
		b = append(b, asm.JNE.Imm32(asm.R5, int32(uint32(r.minor)), skip))
	}
	return append(b, asm.Mov.Imm(asm.R0, verdict(r.allow)), asm.Return()), nil
}

func verdict(allow bool) int32 {
	if allow {
		return 1
	}
	return 0
}

// loadDeviceProgram loads the program for rules into the kernel.
func loadDeviceProgram(rules []deviceRule) (*ebpf.Program, error) {
	insts, err := deviceProgram(rules)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{
		Name:         "berth_devices",
		Type:         ebpf.CGroupDevice,
		Instructions: insts,
		License:      "Apache-2.0",
	}, ebpf.ProgramOptions{})
	if err != nil {
		return nil, fmt.Errorf("load device filter: %w", err)
	}
	return prog, nil
}

// setDevicesV2 loads the device filter for rules and attaches it to the
// cgroup at dir, replacing the filters attached there before. It is
// attached with BPF_PROG_ATTACH, not as a bpf_link, so it stays when the
// runtime exits and goes with the cgroup; nothing is pinned.
func setDevicesV2(dir string, rules []deviceRule) error {
	prog, err := loadDeviceProgram(rules)
	if err != nil {
		return err
	}
	// The attachment holds its own reference to the program.
	defer prog.Close()

	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)

	old, err := attachedDevicePrograms(fd)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	defer func() {
		for _, p := range old {
			p.Close()
		}
	}()

	// One filter before (an update): swap it atomically. Otherwise attach
	// the new one beside the old ones, which only narrows access, then
	// detach the old ones.
	if len(old) == 1 {
		err := link.RawAttachProgram(link.RawAttachProgramOptions{
			Target:  fd,
			Program: prog,
			Attach:  ebpf.AttachCGroupDevice,
			Anchor:  link.ReplaceProgram(old[0]),
			Flags:   unix.BPF_F_ALLOW_MULTI,
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("replace device filter of cgroup %s: %w", dir, err)
		}
		// No BPF_F_REPLACE (before Linux 5.6): attach, then detach.
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{
		Target:  fd,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		Flags:   unix.BPF_F_ALLOW_MULTI,
	}); err != nil {
		return fmt.Errorf("attach device filter to cgroup %s: %w", dir, err)
	}
	for _, p := range old {
		if err := detachDeviceProgram(fd, p); err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
	}
	return nil
}

// attachedDevicePrograms opens the device filters attached directly to the
// cgroup open at fd (not those inherited from its parents).
func attachedDevicePrograms(fd int) ([]*ebpf.Program, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, fmt.Errorf("query device filters: %w", err)
	}
	var progs []*ebpf.Program
	for _, ap := range res.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if err != nil {
			for _, q := range progs {
				q.Close()
			}
			return nil, fmt.Errorf("open device filter %d: %w", ap.ID, err)
		}
		progs = append(progs, p)
	}
	return progs, nil
}

func detachDeviceProgram(fd int, p *ebpf.Program) error {
	err := link.RawDetachProgram(link.RawDetachProgramOptions{
		Target:  fd,
		Program: p,
		Attach:  ebpf.AttachCGroupDevice,
	})
	if err != nil {
		return fmt.Errorf("detach device filter %s: %w", p, err)
	}
	return nil
}

// removeDeviceFilters detaches every device filter attached to the cgroup
// at dir. Removing the cgroup frees them as well; this is for a cgroup that
// stays.
func removeDeviceFilters(dir string) error {
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(fd)
	progs, err := attachedDevicePrograms(fd)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", dir, err)
	}
	var errs []error
	for _, p := range progs {
		if err := detachDeviceProgram(fd, p); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: %w", dir, err))
		}
		p.Close()
	}
	return errors.Join(errs...)
}
