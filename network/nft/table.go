package nft

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is the name of berth's table, of family inet (NAT in inet
// tables works on kernels since 5.2).
const TableName = "berth"

// Chain names in berth's table.
const (
	chainIsolation   = "isolation"
	chainIsolate     = "isolate"
	chainForward     = "forward"
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
)

// chainNames lists every chain, in the order List reports them.
func chainNames() []string {
	return []string{chainIsolation, chainIsolate, chainForward, chainPrerouting, chainOutput, chainPostrouting}
}

// Firewall changes berth's table. Each method opens its own netlink
// connection, in the network namespace of the calling thread, so a failed
// batch leaves nothing queued for the next call; a Firewall is safe for
// concurrent use.
type Firewall struct {
	table *nftables.Table
}

// New returns a Firewall. It changes nothing until a method is called.
func New() (*Firewall, error) {
	return &Firewall{table: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}}, nil
}

// conn opens a netlink connection for one operation.
func conn() (*nftables.Conn, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// chains returns berth's chains; the table and base chains are added to a
// batch with "create if missing" semantics, so doing it again is harmless.
func (f *Firewall) chains() map[string]*nftables.Chain {
	accept := nftables.ChainPolicyAccept
	base := func(name string, t nftables.ChainType, h *nftables.ChainHook, p int32) *nftables.Chain {
		return &nftables.Chain{Name: name, Table: f.table, Type: t, Hooknum: h,
			Priority: nftables.ChainPriorityRef(nftables.ChainPriority(p)), Policy: &accept}
	}
	return map[string]*nftables.Chain{
		chainIsolation:   base(chainIsolation, nftables.ChainTypeFilter, nftables.ChainHookForward, -10),
		chainIsolate:     {Name: chainIsolate, Table: f.table},
		chainForward:     base(chainForward, nftables.ChainTypeFilter, nftables.ChainHookForward, 0),
		chainPrerouting:  base(chainPrerouting, nftables.ChainTypeNAT, nftables.ChainHookPrerouting, -100),
		chainOutput:      base(chainOutput, nftables.ChainTypeNAT, nftables.ChainHookOutput, -100),
		chainPostrouting: base(chainPostrouting, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, 100),
	}
}

// Rule is one of berth's rules as List reports it.
type Rule struct {
	Chain   string
	Handle  uint64
	Owner   string // "net=<id>" or "ctr=<id>"
	Comment string // the whole comment, "berth <owner> <what>"
}

// newRule is a rule to add: its chain, owner, description and statements.
type newRule struct {
	chain string
	what  string
	exprs []expr.Any
}

// comment builds a rule's comment; owner tags must not contain spaces.
func comment(owner, what string) string { return "berth " + owner + " " + what }

// ownerOf returns the owner tag of a berth comment, or "".
func ownerOf(c string) string {
	f := strings.Fields(c)
	if len(f) < 2 || f[0] != "berth" {
		return ""
	}
	return f[1]
}

// validID checks an owner id: 1-64 characters of [A-Za-z0-9_.-].
func validID(kind, id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("invalid %s id %q: 1-64 characters", kind, id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("invalid %s id %q: only letters, digits, '_', '.', '-'", kind, id)
		}
	}
	return nil
}

// tableExists reports whether berth's table is there.
func (f *Firewall) tableExists(c *nftables.Conn) (bool, error) {
	_, err := c.ListTableOfFamily(TableName, nftables.TableFamilyINet)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return false, fmt.Errorf("nftables: look up table inet %s: %w", TableName, err)
}

// List returns every rule in berth's table, in chain order; none when the
// table does not exist.
func (f *Firewall) List() ([]Rule, error) {
	c, err := conn()
	if err != nil {
		return nil, err
	}
	return f.list(c)
}

func (f *Firewall) list(c *nftables.Conn) ([]Rule, error) {
	ok, err := f.tableExists(c)
	if err != nil || !ok {
		return nil, err
	}
	var out []Rule
	for _, name := range chainNames() {
		rules, err := c.GetRules(f.table, &nftables.Chain{Name: name, Table: f.table})
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return nil, fmt.Errorf("nftables: list chain %s: %w", name, err)
		}
		for _, r := range rules {
			cm, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			out = append(out, Rule{Chain: name, Handle: r.Handle, Owner: ownerOf(cm), Comment: cm})
		}
	}
	return out, nil
}

// replace sends one batch: ensure the table and chains, delete the rules of
// owner, add add. It retries once when another berth changed the table
// between the listing and the batch (a rule handle gone).
func (f *Firewall) replace(owner string, add []newRule) error {
	return f.update(owner, add, false)
}

// update is replace; with keepSame, rules of owner that are already the
// ones to add (the same chains and comments) are kept as they are, with
// no batch: a commit costs milliseconds, and a network's rules are the
// same at every container start.
func (f *Firewall) update(owner string, add []newRule, keepSame bool) error {
	var err error
	for try := 0; try < 2; try++ {
		if err = f.replaceOnce(owner, add, keepSame); err == nil {
			return nil
		}
	}
	return err
}

func (f *Firewall) replaceOnce(owner string, add []newRule, keepSame bool) error {
	c, err := conn()
	if err != nil {
		return err
	}
	old, err := f.list(c)
	if err != nil {
		return err
	}
	if len(add) == 0 && !ownsAny(old, owner) {
		// Nothing to delete or add: a teardown (rm, a container's
		// cleanup) must not create berth's table on a host without it.
		return nil
	}
	if keepSame && sameRules(old, owner, add) {
		return nil
	}
	chains := f.chains()
	c.AddTable(f.table)
	for _, name := range chainNames() {
		c.AddChain(chains[name])
	}
	for _, r := range old {
		if r.Owner == owner {
			if err := c.DelRule(&nftables.Rule{Table: f.table, Chain: chains[r.Chain], Handle: r.Handle}); err != nil {
				return fmt.Errorf("nftables: delete rule %d: %w", r.Handle, err)
			}
		}
	}
	for _, r := range add {
		c.AddRule(&nftables.Rule{Table: f.table, Chain: chains[r.chain], Exprs: r.exprs,
			UserData: userdata.AppendString(nil, userdata.TypeComment, comment(owner, r.what))})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: update table inet %s for %s: %w", TableName, owner, err)
	}
	return nil
}

// sameRules says owner's rules in old are exactly add: the same chains
// and comments, each once.
func sameRules(old []Rule, owner string, add []newRule) bool {
	want := map[string]int{}
	for _, r := range add {
		want[r.chain+"\x00"+comment(owner, r.what)]++
	}
	n := 0
	for _, r := range old {
		if r.Owner != owner {
			continue
		}
		n++
		k := r.Chain + "\x00" + r.Comment
		if want[k] == 0 {
			return false
		}
		want[k]--
	}
	return n == len(add)
}

// ownsAny says some rule of rules belongs to owner.
func ownsAny(rules []Rule, owner string) bool {
	for _, r := range rules {
		if r.Owner == owner {
			return true
		}
	}
	return false
}

// RemoveAll deletes berth's table with every rule in it; no table is fine.
func (f *Firewall) RemoveAll() error {
	c, err := conn()
	if err != nil {
		return err
	}
	ok, err := f.tableExists(c)
	if err != nil || !ok {
		return err
	}
	c.DelTable(f.table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, err)
	}
	return nil
}
