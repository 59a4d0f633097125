package seccompfilter

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"golang.org/x/sys/unix"
)

// insnSize is the size of one BPF instruction (struct sock_filter).
const insnSize = 8

// filterWire is Filter as JSON: the program as bytes (base64 in JSON), the
// way the kernel lays out struct sock_filter, little-endian. As a list of
// objects, a Docker profile's program is about 40 KB of JSON that init, a
// fresh process with cold caches, spent milliseconds decoding.
type filterWire struct {
	Prog    []byte   `json:"prog"`
	Flags   uintptr  `json:"flags"`
	Ignored []string `json:"ignored,omitempty"`
}

// MarshalJSON encodes the filter compactly (see filterWire).
func (f Filter) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(f.Prog)*insnSize)
	for _, in := range f.Prog {
		b = binary.LittleEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return json.Marshal(filterWire{Prog: b, Flags: f.Flags, Ignored: f.Ignored})
}

// UnmarshalJSON decodes what MarshalJSON wrote. A program whose length is
// not whole instructions, or longer than the kernel takes, is an error;
// so is the older form (a list of instruction objects), which the cache
// then compiles again.
func (f *Filter) UnmarshalJSON(data []byte) error {
	var w filterWire
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("seccomp filter: %w", err)
	}
	if len(w.Prog)%insnSize != 0 {
		return fmt.Errorf("seccomp filter: program of %d bytes is not whole instructions", len(w.Prog))
	}
	if n := len(w.Prog) / insnSize; n > MaxProgram {
		return fmt.Errorf("seccomp filter: program of %d instructions is longer than %d", n, MaxProgram)
	}
	prog := make([]unix.SockFilter, len(w.Prog)/insnSize)
	for i := range prog {
		b := w.Prog[i*insnSize:]
		prog[i] = unix.SockFilter{
			Code: binary.LittleEndian.Uint16(b),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.LittleEndian.Uint32(b[4:]),
		}
	}
	*f = Filter{Prog: prog, Flags: w.Flags, Ignored: w.Ignored}
	return nil
}
