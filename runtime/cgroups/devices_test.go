package cgroups

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specDefaultDevices is the rule list of `berth-runtime spec` (and of
// `runc spec`): deny everything.
var specDefaultDevices = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}

func mustRules(t testing.TB, rules ...specs.LinuxDeviceCgroup) []deviceRule {
	t.Helper()
	var out []deviceRule
	for i, r := range rules {
		d, err := parseDeviceRule(r)
		if err != nil {
			t.Fatalf("rule %d %+v: %v", i, r, err)
		}
		out = append(out, d)
	}
	return out
}

func TestParseDeviceRulesRejects(t *testing.T) {
	for _, c := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Type: "x", Access: "r"}, `type "x"`},
		{specs.LinuxDeviceCgroup{Type: "cb", Access: "r"}, `type "cb"`},
		{specs.LinuxDeviceCgroup{Type: "C", Access: "r"}, `type "C"`},
		{specs.LinuxDeviceCgroup{Type: "p", Access: "r"}, `type "p"`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: ""}, "access is empty"},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rwx"}, `access "rwx"`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "R"}, `access "R"`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "rr"}, "given twice"},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "r w"}, `access "r w"`},
		{specs.LinuxDeviceCgroup{Type: "c", Access: "r\n"}, "access"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: i64(-2), Access: "r"}, "major -2"},
		{specs.LinuxDeviceCgroup{Type: "c", Minor: i64(math.MaxUint32 + 1), Access: "r"}, "minor 4294967296"},
		{specs.LinuxDeviceCgroup{Type: "b", Major: i64(math.MinInt64), Access: "r"}, "major"},
	} {
		rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, c.rule}
		_, err := parseDeviceRules(rules)
		if err == nil {
			t.Errorf("%+v accepted", c.rule)
			continue
		}
		if !strings.Contains(err.Error(), "linux.resources.devices[1]") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %q, want linux.resources.devices[1] and %q", c.rule, err, c.want)
		}
	}
}

func TestParseDeviceRulesAccepts(t *testing.T) {
	for _, r := range []specs.LinuxDeviceCgroup{
		{Access: "m"},
		{Type: "a", Major: i64(1), Access: "wr"},
		{Type: "c", Major: i64(-1), Minor: i64(-1), Access: "mwr"},
		{Type: "b", Major: i64(0), Minor: i64(math.MaxUint32), Access: "rw"},
	} {
		if _, err := parseDeviceRule(r); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func v1Lines(ls []deviceLineV1) []string {
	var out []string
	for _, l := range ls {
		out = append(out, strings.TrimPrefix(l.file, "devices.")+" "+l.line)
	}
	return out
}

var defaultV1Lines = []string{
	"allow c *:* m", "allow b *:* m",
	"allow c 1:3 rwm", "allow c 1:8 rwm", "allow c 1:7 rwm", "allow c 5:0 rwm",
	"allow c 1:5 rwm", "allow c 1:9 rwm", "allow c 136:* rwm", "allow c 5:2 rwm",
}

func TestDeviceLinesV1(t *testing.T) {
	for _, c := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  []string
	}{
		{"spec default", specDefaultDevices, append([]string{"deny a"}, defaultV1Lines...)},
		{"none: deny by default", []specs.LinuxDeviceCgroup{}, append([]string{"deny a"}, defaultV1Lines...)},
		{"docker-like", []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "rw"},
			{Allow: false, Type: "b", Minor: i64(0), Access: "mr"},
		}, append([]string{"deny a", "allow c 10:200 rw", "deny b *:0 rm"}, defaultV1Lines...)},
		{"allow all, then deny", []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(4), Access: "r"},
			{Allow: true, Type: "a", Major: i64(7), Minor: i64(7), Access: "r"}, // "a" ignores the rest, as the kernel
			{Allow: false, Type: "c", Major: i64(1), Minor: i64(3), Access: "w"},
		}, append([]string{"allow a", "deny c 1:3 w"}, defaultV1Lines...)},
		{"no leading deny", []specs.LinuxDeviceCgroup{
			{Allow: true, Type: "b", Major: i64(8), Minor: i64(0), Access: "rwm"},
		}, append([]string{"deny a", "allow b 8:0 rwm"}, defaultV1Lines...)},
	} {
		rules, err := parseDeviceRules(c.rules)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := v1Lines(deviceLinesV1(rules))
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// request is one access a process makes, as the kernel describes it to a
// device program.
type request struct {
	typ          uint32 // bpfDevChar or bpfDevBlock
	access       uint32 // accRead|accWrite|accMknod bits
	major, minor uint32
}

// runDeviceProgram interprets the instruction subset deviceProgram emits.
func runDeviceProgram(t testing.TB, insts asm.Instructions, req request) bool {
	t.Helper()
	labels := map[string]int{}
	for i, ins := range insts {
		if s := ins.Symbol(); s != "" {
			labels[s] = i
		}
	}
	ctx := [3]uint32{req.access<<16 | req.typ, req.major, req.minor}
	var reg [11]uint64
	for pc, steps := 0, 0; ; steps++ {
		if pc < 0 || pc >= len(insts) || steps > 10*len(insts) {
			t.Fatalf("program runs off at %d", pc)
		}
		ins := insts[pc]
		op := ins.OpCode
		src := uint64(ins.Constant)
		if op.Source() == asm.RegSource {
			src = reg[ins.Src]
		}
		pc++
		switch op.Class() {
		case asm.LdXClass:
			if ins.Src != asm.R1 || op.Size() != asm.Word || ins.Offset%4 != 0 || ins.Offset > 8 {
				t.Fatalf("unexpected load %v", ins)
			}
			reg[ins.Dst] = uint64(ctx[ins.Offset/4])
		case asm.ALUClass, asm.ALU64Class:
			d := reg[ins.Dst]
			switch op.ALUOp() {
			case asm.Mov:
				d = src
			case asm.And:
				d &= src
			case asm.RSh:
				d >>= src
			default:
				t.Fatalf("unexpected ALU op %v", ins)
			}
			if op.Class() == asm.ALUClass {
				d = uint64(uint32(d))
			}
			reg[ins.Dst] = d
		case asm.JumpClass, asm.Jump32Class:
			if op.JumpOp() == asm.Exit {
				return reg[asm.R0] == 1
			}
			a, b := reg[ins.Dst], src
			if op.Class() == asm.Jump32Class {
				a, b = uint64(uint32(a)), uint64(uint32(b))
			}
			var take bool
			switch op.JumpOp() {
			case asm.JEq:
				take = a == b
			case asm.JNE:
				take = a != b
			default:
				t.Fatalf("unexpected jump %v", ins)
			}
			if take {
				to, ok := labels[ins.Reference()]
				if !ok {
					t.Fatalf("jump to unknown label %q", ins.Reference())
				}
				pc = to
			}
		default:
			t.Fatalf("unexpected instruction %v", ins)
		}
	}
}

// modelAllows is the reference semantics: the last matching rule decides,
// "a" matches everything, an allow rule must grant every requested bit, a
// deny rule matches when it covers any; nothing matches: deny.
func modelAllows(rules []deviceRule, req request) bool {
	for i := len(rules) - 1; i >= 0; i-- {
		r := rules[i]
		if r.typ != 'a' {
			if (r.typ == 'c') != (req.typ == bpfDevChar) {
				continue
			}
			if r.major >= 0 && uint32(r.major) != req.major || r.minor >= 0 && uint32(r.minor) != req.minor {
				continue
			}
			if r.allow && uint32(r.access)&req.access != req.access {
				continue
			}
			if !r.allow && uint32(r.access)&req.access == 0 {
				continue
			}
		}
		return r.allow
	}
	return false
}

func allRequests(majors, minors []uint32) []request {
	var out []request
	for _, typ := range []uint32{bpfDevChar, bpfDevBlock} {
		for acc := uint32(1); acc <= 7; acc++ {
			for _, ma := range majors {
				for _, mi := range minors {
					out = append(out, request{typ, acc, ma, mi})
				}
			}
		}
	}
	return out
}

func checkProgram(t testing.TB, rules []deviceRule, reqs []request) {
	t.Helper()
	insts, err := deviceProgram(rules)
	if err != nil {
		t.Fatalf("deviceProgram: %v", err)
	}
	for _, req := range reqs {
		if got, want := runDeviceProgram(t, insts, req), modelAllows(rules, req); got != want {
			t.Fatalf("request %+v: program says %v, model %v; rules %+v\n%v", req, got, want, rules, insts)
		}
	}
}

func TestDeviceProgram(t *testing.T) {
	reqs := allRequests([]uint32{0, 1, 5, 136, math.MaxUint32}, []uint32{0, 3, 5, 9, math.MaxUint32})
	for _, c := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		check map[request]bool
	}{
		{"spec default", specDefaultDevices, map[request]bool{
			{bpfDevChar, uint32(accRead | accWrite), 1, 3}:  true,  // /dev/null
			{bpfDevChar, uint32(accRead), 1, 5}:             true,  // /dev/zero
			{bpfDevChar, uint32(accRead), 136, 5}:           true,  // a pts
			{bpfDevChar, uint32(accMknod), 8, 0}:            true,  // mknod anything
			{bpfDevBlock, uint32(accRead), 8, 0}:            false, // a disk
			{bpfDevChar, uint32(accRead), 1, 1}:             false, // /dev/mem
			{bpfDevChar, uint32(accWrite), 10, 200}:         false, // /dev/net/tun
			{bpfDevChar, uint32(accRead | accMknod), 10, 1}: false,
		}},
		{"allow a then deny", []specs.LinuxDeviceCgroup{
			{Allow: true, Access: "r"},
			{Allow: false, Type: "b", Major: i64(8), Access: "w"},
		}, map[request]bool{
			{bpfDevBlock, uint32(accRead), 8, 0}:            true,
			{bpfDevBlock, uint32(accRead | accWrite), 8, 1}: false,
			{bpfDevBlock, uint32(accWrite), 9, 1}:           true,
		}},
		{"partial access", []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: i64(10), Minor: i64(200), Access: "r"},
		}, map[request]bool{
			{bpfDevChar, uint32(accRead), 10, 200}:            true,
			{bpfDevChar, uint32(accRead | accWrite), 10, 200}: false,
			{bpfDevChar, uint32(accRead), 10, 201}:            false,
			{bpfDevBlock, uint32(accRead), 10, 200}:           false,
		}},
	} {
		rules, err := parseDeviceRules(c.rules)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		insts, err := deviceProgram(rules)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for req, want := range c.check {
			if got := runDeviceProgram(t, insts, req); got != want {
				t.Errorf("%s: request %+v allowed %v, want %v", c.name, req, got, want)
			}
		}
		checkProgram(t, rules, reqs)
	}
}

// A bare deny-all with no defaults denies everything; a bare allow-all
// allows everything.
func TestDeviceProgramDefaults(t *testing.T) {
	reqs := allRequests([]uint32{0, 1, math.MaxUint32}, []uint32{0, 3})
	deny, err := deviceProgram(nil)
	if err != nil {
		t.Fatal(err)
	}
	allow, err := deviceProgram(mustRules(t, specs.LinuxDeviceCgroup{Allow: true, Access: "rwm"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range reqs {
		if runDeviceProgram(t, deny, req) {
			t.Errorf("empty rule list allows %+v", req)
		}
		if !runDeviceProgram(t, allow, req) {
			t.Errorf("allow-all denies %+v", req)
		}
	}
}

// deviceProgram refuses rules that bypassed validation.
func TestDeviceProgramRejectsInvalid(t *testing.T) {
	for _, r := range []deviceRule{
		{allow: true, typ: 'x', major: -1, minor: -1, access: accAll},
		{allow: true, typ: 'c', major: -1, minor: -1, access: 0},
		{allow: true, typ: 'c', major: -1, minor: -1, access: 0x10},
	} {
		if _, err := deviceProgram([]deviceRule{r}); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}

// rulesFromBytes turns fuzz input into a rule list: 4 bytes a rule.
func rulesFromBytes(data []byte) []specs.LinuxDeviceCgroup {
	types := []string{"", "a", "c", "b", "x"}
	access := []string{"", "r", "w", "m", "rw", "rm", "wm", "rwm", "mwr", "rr", "q"}
	nums := []*int64{nil, i64(-1), i64(0), i64(1), i64(3), i64(5), i64(math.MaxUint32), i64(-7), i64(1 << 40)}
	var out []specs.LinuxDeviceCgroup
	for len(data) >= 4 && len(out) < 32 {
		out = append(out, specs.LinuxDeviceCgroup{
			Allow:  data[0]&1 == 1,
			Type:   types[int(data[0]>>1)%len(types)],
			Access: access[int(data[1])%len(access)],
			Major:  nums[int(data[2])%len(nums)],
			Minor:  nums[int(data[3])%len(nums)],
		})
		data = data[4:]
	}
	return out
}

func FuzzDeviceRules(f *testing.F) {
	f.Add([]byte{0, 7, 0, 0}, "c", "rwm", int64(1), int64(3))
	f.Add([]byte{3, 1, 4, 5, 4, 2, 1, 1}, "b", "rw", int64(-1), int64(0))
	f.Add([]byte{7, 10, 8, 7}, "x", "rr", int64(-2), int64(math.MaxUint32+1))
	f.Fuzz(func(t *testing.T, data []byte, typ, access string, major, minor int64) {
		// One rule from free-form strings: validation never panics, and an
		// accepted rule renders as a well-formed v1 line.
		one := specs.LinuxDeviceCgroup{Type: typ, Access: access, Major: &major, Minor: &minor}
		if d, err := parseDeviceRule(one); err == nil {
			line := d.v1String()
			if strings.ContainsAny(line, "\n\x00") || (line != "a" && len(strings.Fields(line)) != 3) {
				t.Fatalf("rule %+v renders as %q", one, line)
			}
		}
		// A list of rules: the program agrees with the model.
		rules, err := parseDeviceRules(rulesFromBytes(data))
		if err != nil {
			if !strings.Contains(err.Error(), "linux.resources.devices[") {
				t.Fatalf("error does not name the rule: %v", err)
			}
			return
		}
		checkProgram(t, rules, allRequests([]uint32{0, 1, 5, math.MaxUint32}, []uint32{0, 3, 5}))
		if ls := deviceLinesV1(rules); len(ls) == 0 {
			t.Fatal("no v1 lines")
		}
	})
}

func TestAccessString(t *testing.T) {
	for acc := uint8(1); acc <= accAll; acc++ {
		s := accessString(acc)
		back, err := parseAccess(s)
		if err != nil || back != acc {
			t.Errorf("access %#x renders %q, parses back %#x, %v", acc, s, back, err)
		}
	}
	if got := fmt.Sprint(accessString(accAll)); got != "rwm" {
		t.Errorf("accessString(all) = %q", got)
	}
}
