package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"berth/network"
	"berth/network/link"
)

// netView is a network as `network ls` and `inspect` see it: a record,
// or one of the record-less modes "host" and "none".
type netView struct {
	ID, Name, Driver string
	Rec              *network.Record // nil for host and none
}

// recordless are the predefined networks without a record, with their
// drivers (Docker's "host" and "null").
var recordless = []struct{ name, driver string }{{"host", "host"}, {"none", "null"}}

// predefinedID is the fixed id of a record-less network: a hash, so it is
// 64 hex digits like any other and the same in every berth root.
func predefinedID(name string) string {
	sum := sha256.Sum256([]byte("berth predefined network " + name))
	return hex.EncodeToString(sum[:])
}

// allViews is every network: the records (the default "bridge" among them)
// and host and none, sorted by name as Docker's CLI sorts them.
func allViews(recs []*network.Record) []netView {
	out := make([]netView, 0, len(recs)+len(recordless))
	for _, r := range recs {
		out = append(out, netView{ID: r.ID, Name: r.Name, Driver: r.Driver, Rec: r})
	}
	for _, p := range recordless {
		out = append(out, netView{ID: predefinedID(p.name), Name: p.name, Driver: p.driver})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// netRow is one line of `network ls`; its fields are what --format sees.
type netRow struct {
	ID, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt string
}

func (v netView) row(noTrunc bool) netRow {
	id := v.ID
	if !noTrunc {
		id = id[:12]
	}
	r := netRow{ID: id, Name: v.Name, Driver: v.Driver, Scope: "local", IPv6: "false", Internal: "false"}
	if v.Rec != nil {
		r.Internal = fmt.Sprint(v.Rec.Internal)
		r.Labels = joinLabels(v.Rec.Labels)
		r.CreatedAt = v.Rec.Created.Local().Format("2006-01-02 15:04:05.999999999 -0700 MST")
	}
	return r
}

// joinLabels is k=v,... sorted by key.
func joinLabels(l map[string]string) string {
	s := make([]string, 0, len(l))
	for k, v := range l {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

// netFilter is `network ls --filter`: values of one key are alternatives,
// different keys must all hold (Docker's rule).
type netFilter map[string][]string

// parseNetFilter reads key=value filters; Docker's keys for networks.
func parseNetFilter(args []string) (netFilter, error) {
	f := netFilter{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %q", a)
		}
		switch k {
		case "name", "id", "label", "driver", "scope", "type", "dangling":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		if k == "type" && v != "custom" && v != "builtin" {
			return nil, fmt.Errorf("invalid filter: 'type'='%s'", v)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// match tells whether v passes; used tells whether a network has
// containers (for dangling=).
func (f netFilter) match(v netView, used func(netView) bool) bool {
	oneOf := func(key string, ok func(string) bool) bool {
		vals, set := f[key]
		if !set {
			return true
		}
		for _, val := range vals {
			if ok(val) {
				return true
			}
		}
		return false
	}
	var labels map[string]string
	if v.Rec != nil {
		labels = v.Rec.Labels
	}
	builtin := network.IsPredefined(v.Name)
	return oneOf("name", func(s string) bool { return matchPattern(s, v.Name) }) &&
		oneOf("id", func(s string) bool { return matchPattern(s, v.ID) }) &&
		oneOf("driver", func(s string) bool { return s == v.Driver }) &&
		oneOf("scope", func(s string) bool { return s == "local" }) &&
		oneOf("type", func(s string) bool { return (s == "builtin") == builtin }) &&
		oneOf("dangling", func(s string) bool {
			want := s == "true" || s == "1"
			return !builtin && used != nil && want == !used(v)
		}) &&
		allLabels(f["label"], labels)
}

// matchPattern is Docker's filter match: equal, or the value as a regular
// expression found in s (Go's regexp runs in linear time, so a hostile
// pattern cannot stall it; an invalid one matches nothing).
func matchPattern(pattern, s string) bool {
	if pattern == s {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(s)
}

// allLabels: every label filter (key or key=value) holds.
func allLabels(conds []string, labels map[string]string) bool {
	for _, c := range conds {
		k, want, hasV := strings.Cut(c, "=")
		got, ok := labels[k]
		if !ok || (hasV && got != want) {
			return false
		}
	}
	return true
}

// netInspect is Docker's network inspect object.
type netInspect struct {
	Name       string                   `json:"Name"`
	ID         string                   `json:"Id"`
	Created    time.Time                `json:"Created"`
	Scope      string                   `json:"Scope"`
	Driver     string                   `json:"Driver"`
	EnableIPv6 bool                     `json:"EnableIPv6"`
	IPAM       ipamInspect              `json:"IPAM"`
	Internal   bool                     `json:"Internal"`
	Attachable bool                     `json:"Attachable"`
	Ingress    bool                     `json:"Ingress"`
	ConfigFrom struct{ Network string } `json:"ConfigFrom"`
	ConfigOnly bool                     `json:"ConfigOnly"`
	Containers map[string]endpointView  `json:"Containers"`
	Options    map[string]string        `json:"Options"`
	Labels     map[string]string        `json:"Labels"`
}

type ipamInspect struct {
	Driver  string            `json:"Driver"`
	Options map[string]string `json:"Options"`
	Config  []ipamConfig      `json:"Config"`
}

type ipamConfig struct {
	Subnet  string `json:"Subnet"`
	Gateway string `json:"Gateway"`
}

// endpointView is one container of a network in inspect.
type endpointView struct {
	Name        string `json:"Name"`
	EndpointID  string `json:"EndpointID"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"`
	IPv6Address string `json:"IPv6Address"`
}

// endpointID is a stable 64-hex id for a container's endpoint on a
// network (berth keeps no endpoint records: it derives one).
func endpointID(networkID, containerID string) string {
	sum := sha256.Sum256([]byte(networkID + "/" + containerID))
	return hex.EncodeToString(sum[:])
}

// inspectView builds the inspect object of v from its leases; name maps a
// container id to its name ("" when unknown).
func inspectView(v netView, leases []network.Lease, name func(id string) string) netInspect {
	out := netInspect{Name: v.Name, ID: v.ID, Scope: "local", Driver: v.Driver,
		IPAM:       ipamInspect{Driver: "default", Options: map[string]string{}, Config: []ipamConfig{}},
		Containers: map[string]endpointView{}, Options: map[string]string{}, Labels: map[string]string{}}
	r := v.Rec
	if r == nil {
		return out
	}
	out.Created = r.Created.Local()
	out.Internal = r.Internal
	out.IPAM.Config = append(out.IPAM.Config, ipamConfig{Subnet: r.Subnet.String(), Gateway: r.Gateway.String()})
	for k, val := range r.Labels {
		out.Labels[k] = val
	}
	if r.Name == network.DefaultName {
		out.Options["com.docker.network.bridge.default_bridge"] = "true"
		out.Options["com.docker.network.bridge.name"] = r.Bridge
	}
	for _, l := range leases {
		if l.Network != r.ID {
			continue
		}
		ep := endpointView{Name: name(l.Container), EndpointID: endpointID(r.ID, l.Container),
			IPv4Address: fmt.Sprintf("%s/%d", l.Addr, r.Subnet.Bits())}
		if mac, err := link.MACFromIP(l.Addr); err == nil {
			ep.MacAddress = mac.String()
		}
		out.Containers[l.Container] = ep
	}
	return out
}
