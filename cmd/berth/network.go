package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"berth/engine/events"
	"berth/internal/config"
	"berth/network"
	"berth/network/dns"
	"berth/network/link"
	"berth/network/nft"
)

// openNetworks opens the network store under --root with the address
// pools of berth's configuration file.
func (g *globals) openNetworks() (*network.Store, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("berth needs root (rootless mode is not implemented yet)")
	}
	cfg, err := config.Load("")
	if err != nil {
		return nil, err
	}
	return network.Open(g.root, network.Options{Pools: cfg.AddressPools})
}

func newNetworkCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "manage networks"}
	cmd.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g),
		newNetworkRmCommand(g), newNetworkPruneCommand(g), newNetworkConnectCommand(g), newNetworkDisconnectCommand(g))
	return cmd
}

func newNetworkCreateCommand(g *globals) *cobra.Command {
	var o network.CreateOptions
	var driver string
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "create a bridge network",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != network.Driver {
				return fmt.Errorf("network driver %q is not supported (only %q)", driver, network.Driver)
			}
			o.Name = args[0]
			o.Labels = map[string]string{}
			for _, kv := range labels {
				k, v, _ := strings.Cut(kv, "=")
				o.Labels[k] = v
			}
			s, err := g.openNetworks()
			if err != nil {
				return err
			}
			// The default network first, so that it gets the first
			// subnet of the pools, as Docker's exists before any other.
			if _, err := s.Default(); err != nil {
				return err
			}
			r, err := s.Create(o)
			if err != nil {
				return err
			}
			emitNetworkEvent(g.root, r, "create")
			fmt.Println(r.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", network.Driver, `driver ("bridge" only)`)
	f.StringVar(&o.Subnet, "subnet", "", "subnet in CIDR form (default: one from the address pools)")
	f.StringVar(&o.Gateway, "gateway", "", "gateway address (default: the subnet's first address)")
	f.BoolVar(&o.Internal, "internal", false, "no traffic to or from outside the network")
	f.StringArrayVar(&labels, "label", nil, "set a label (key=value)")
	return cmd
}

func newNetworkLsCommand(g *globals) *cobra.Command {
	var quiet, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "list networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parseNetFilter(filters)
			if err != nil {
				return err
			}
			s, err := g.openNetworks()
			if err != nil {
				return err
			}
			views, err := listViews(s)
			if err != nil {
				return err
			}
			used, err := usedNetworks(s)
			if err != nil {
				return err
			}
			var rows []netRow
			for _, v := range views {
				if !f.match(v, func(v netView) bool { return used[v.ID] }) {
					continue
				}
				rows = append(rows, v.row(noTrunc))
			}
			if quiet {
				for _, r := range rows {
					fmt.Println(r.ID)
				}
				return nil
			}
			return printRows(os.Stdout, format, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
				map[string]string{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
					"IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}, rows)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&quiet, "quiet", "q", false, "only show network IDs")
	fl.BoolVar(&noTrunc, "no-trunc", false, "do not truncate the IDs")
	fl.StringVar(&format, "format", "", `"table", "json", or a Go template`)
	fl.StringArrayVarP(&filters, "filter", "f", nil, "filter: name=, id=, label=, driver=, type=custom|builtin, dangling=")
	return cmd
}

// listViews is every network, the default "bridge" made on first use.
func listViews(s *network.Store) ([]netView, error) {
	if _, err := s.Default(); err != nil {
		return nil, err
	}
	recs, err := s.List()
	if err != nil {
		return nil, err
	}
	return allViews(recs), nil
}

// usedNetworks is the set of network ids with at least one lease.
func usedNetworks(s *network.Store) (map[string]bool, error) {
	leases, err := s.Leases()
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, l := range leases {
		used[l.Network] = true
	}
	return used, nil
}

// findView resolves a network argument: host, none (by name or id), or a
// record by name, id or unique id prefix.
func findView(s *network.Store, ref string) (netView, error) {
	for _, p := range recordless {
		if ref == p.name || ref == predefinedID(p.name) {
			return netView{ID: predefinedID(p.name), Name: p.name, Driver: p.driver}, nil
		}
	}
	var r *network.Record
	var err error
	if ref == network.DefaultName {
		r, err = s.Default()
	} else {
		r, err = s.Get(ref)
	}
	if err != nil {
		return netView{}, err
	}
	return netView{ID: r.ID, Name: r.Name, Driver: r.Driver, Rec: r}, nil
}

func newNetworkInspectCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NETWORK [NETWORK...]",
		Short: "show networks in detail, as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openNetworks()
			if err != nil {
				return err
			}
			leases, err := s.Leases()
			if err != nil {
				return err
			}
			names := containerNames(cmd.Context(), g, len(leases) > 0)
			out := []netInspect{}
			var missing []string
			for _, a := range args {
				v, err := findView(s, a)
				if errors.Is(err, network.ErrNotFound) {
					missing = append(missing, a)
					continue
				}
				if err != nil {
					return err
				}
				out = append(out, inspectView(v, leases, names))
			}
			if len(out) > 0 || format == "" {
				if err := printInspect(format, out); err != nil {
					return err
				}
			}
			if len(missing) > 0 {
				return statusError{1, fmt.Errorf("No such network: %s", strings.Join(missing, ", "))}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "a Go template applied to each network")
	return cmd
}

// containerNames maps container ids to names through the engine; when
// need is false, or the engine cannot be opened, every name is "".
func containerNames(ctx context.Context, g *globals, need bool) func(string) string {
	none := func(string) string { return "" }
	if !need {
		return none
	}
	e, err := g.openEngine(ctx)
	if err != nil {
		slog.Warn("container names for network inspect", "error", err)
		return none
	}
	list, err := e.List(ctx)
	e.Close()
	if err != nil {
		slog.Warn("container names for network inspect", "error", err)
		return none
	}
	names := make(map[string]string, len(list))
	for _, c := range list {
		names[c.ID] = strings.TrimPrefix(c.Name, "/")
	}
	return func(id string) string { return names[id] }
}

func newNetworkRmCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "remove networks (refused while containers use one)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openNetworks()
			if err != nil {
				return err
			}
			failed := 0
			for _, a := range args {
				if err := removeNetwork(g.root, s, a); err != nil {
					fmt.Fprintln(os.Stderr, "Error:", err)
					failed++
					continue
				}
				fmt.Println(a)
			}
			if failed > 0 {
				return statusError{1, silentExit{}}
			}
			return nil
		},
	}
}

// removeNetwork removes a network's record (refused while it has leases),
// then its kernel side and DNS server.
func removeNetwork(root string, s *network.Store, ref string) error {
	if network.IsPredefined(ref) {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", ref)
	}
	r, err := s.Remove(ref)
	if errors.Is(err, network.ErrInUse) {
		if cur, gerr := s.Get(ref); gerr == nil {
			return fmt.Errorf("error while removing network: network %s id %s has active endpoints", cur.Name, cur.ID)
		}
	}
	if errors.Is(err, network.ErrPredefined) {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", ref)
	}
	if err != nil {
		return err
	}
	teardownNetwork(root, r)
	emitNetworkEvent(root, r, "destroy")
	return nil
}

// teardownNetwork removes what a removed network may have left in the
// kernel and on disk: its DNS server and files, its firewall rules, its
// bridge. Each is absent unless a container used the network; a failure
// is logged, as the record is already gone.
func teardownNetwork(root string, r *network.Record) {
	if err := dns.Remove(root, r.ID); err != nil {
		slog.Warn("remove network DNS", "network", r.Name, "error", err)
	} else if dir, err := dns.Dir(root, r.ID); err == nil {
		if err := os.RemoveAll(dir); err != nil {
			slog.Warn("remove network DNS files", "network", r.Name, "error", err)
		}
	}
	if err := removeNetworkRules(r.ID); err != nil {
		slog.Warn("remove network firewall rules", "network", r.Name, "error", err)
	}
	if err := link.RemoveBridge(r.Bridge); err != nil {
		slog.Warn("remove network bridge", "network", r.Name, "error", err)
	}
}

// removeNetworkRules removes the network's nftables rules if it has any:
// asking first, so that a network never used does not create berth's
// table on a host that has none.
func removeNetworkRules(id string) error {
	fw, err := nft.New()
	if err != nil {
		return err
	}
	rules, err := fw.List()
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.Owner == "net="+id {
			return fw.RemoveNetwork(id)
		}
	}
	return nil
}

func newNetworkPruneCommand(g *globals) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "remove the networks no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := parsePruneFilters(filters, time.Now())
			if err != nil {
				return err
			}
			if !confirm(force, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			s, err := g.openNetworks()
			if err != nil {
				return err
			}
			removed, err := s.Prune(func(r *network.Record) bool { return !f.match(r.Created, r.Labels) })
			if err != nil {
				return err
			}
			names := make([]string, 0, len(removed))
			for _, r := range removed {
				teardownNetwork(g.root, r)
				emitNetworkEvent(g.root, r, "destroy")
				names = append(names, r.Name)
			}
			printSection("Deleted Networks:", names)
			emitPrune(g.root, events.TypeNetwork, 0)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "only networks made before until=<time>, or with label=<key>[=<value>] (or without: label!=)")
	return cmd
}

// emitNetworkEvent records a network event as Docker's: the network id,
// its name and type.
func emitNetworkEvent(root string, r *network.Record, action string) {
	m := events.New(events.TypeNetwork, action, r.ID, map[string]string{"name": r.Name, "type": r.Driver}, time.Now())
	if err := events.Append(root, m); err != nil {
		slog.Warn("record an event", "type", events.TypeNetwork, "action", action, "id", r.ID, "error", err)
	}
}
