package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"berth/network/ipam"
)

// Driver is the only network driver berth has.
const Driver = "bridge"

// DefaultName is the default network's name, and DefaultBridge its
// bridge interface, as Docker's "bridge"/docker0.
const (
	DefaultName   = "bridge"
	DefaultBridge = "berth0"
)

// predefined are names Docker reserves for its built-in networks; "host"
// and "none" are network modes with no record.
var predefined = map[string]bool{"bridge": true, "host": true, "none": true, "default": true}

// IsPredefined tells whether name is one of Docker's built-in network
// names (bridge, host, none, default), which users cannot create or remove.
func IsPredefined(name string) bool { return predefined[name] }

// validName is the network name grammar.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// MaxNameLen bounds a network name.
const MaxNameLen = 128

// validID is a full network id.
var validID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Record is a network as stored.
type Record struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Driver   string            `json:"driver"`
	Bridge   string            `json:"bridge"`
	Subnet   netip.Prefix      `json:"subnet"`
	Gateway  netip.Addr        `json:"gateway"`
	Internal bool              `json:"internal,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Created  time.Time         `json:"created"`
	// UserSubnet says the subnet was given with --subnet; Docker allows
	// --ip only on such networks.
	UserSubnet bool `json:"user_subnet,omitempty"`
}

// ShortID is the id as `network ls` shows it.
func (r *Record) ShortID() string { return r.ID[:12] }

// Space is the network's address space for ipam.
func (r *Record) Space() ipam.Space { return ipam.Space{Subnet: r.Subnet, Gateway: r.Gateway} }

// ValidateName checks a network name.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("invalid network name: empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("invalid network name %.20q...: longer than %d bytes", name, MaxNameLen)
	}
	if !validName.MatchString(name) {
		return fmt.Errorf("invalid network name %q: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name)
	}
	return nil
}

// BridgeName is the bridge interface of a network: berth0 for the
// default network, br-<12 hex> for the others (15 bytes, the kernel's
// limit).
func BridgeName(name, id string) string {
	if name == DefaultName {
		return DefaultBridge
	}
	return "br-" + id[:12]
}

// validate checks a record read from disk or built for writing, so a
// damaged file never reaches the link or firewall code.
func (r *Record) validate() error {
	if !validID.MatchString(r.ID) {
		return fmt.Errorf("bad id %q", r.ID)
	}
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if r.Driver != Driver {
		return fmt.Errorf("network %s: unknown driver %q", r.Name, r.Driver)
	}
	if want := BridgeName(r.Name, r.ID); r.Bridge != want {
		return fmt.Errorf("network %s: bridge %q, want %q", r.Name, r.Bridge, want)
	}
	if _, err := ipam.CheckSubnet(r.Subnet); err != nil {
		return fmt.Errorf("network %s: %w", r.Name, err)
	}
	if err := ipam.CheckGateway(r.Subnet, r.Gateway); err != nil {
		return fmt.Errorf("network %s: %w", r.Name, err)
	}
	return nil
}

// decodeRecord parses and checks a stored record.
func decodeRecord(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("network record: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("network record: %w", err)
	}
	return &r, nil
}

func encodeRecord(r *Record) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return json.Marshal(r)
}
