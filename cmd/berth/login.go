//go:build berthfull

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"berth/ship/auth"
)

// maxPasswordStdin bounds --password-stdin (a password or token).
const maxPasswordStdin = 64 << 10

func newLoginCommand(g *globals) *cobra.Command {
	var user, pass string
	var passStdin bool
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "log in to a registry (Docker Hub if no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return runLogin(cmd, server, user, pass, passStdin)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "username")
	f.StringVarP(&pass, "password", "p", "", "password or token (visible to other users: prefer --password-stdin)")
	f.BoolVar(&passStdin, "password-stdin", false, "read the password or token from stdin")
	return cmd
}

func runLogin(cmd *cobra.Command, server, user, pass string, passStdin bool) error {
	stdin, stderr := cmd.InOrStdin(), cmd.ErrOrStderr()
	if pass != "" && passStdin {
		return statusError{1, errors.New("--password and --password-stdin are mutually exclusive")}
	}
	if passStdin && user == "" {
		return statusError{1, errors.New("must provide --username with --password-stdin")}
	}
	if pass != "" {
		fmt.Fprintln(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	in := bufio.NewReader(stdin)
	if passStdin {
		b, err := io.ReadAll(io.LimitReader(in, maxPasswordStdin+1))
		if err != nil {
			return fmt.Errorf("read password from stdin: %w", err)
		}
		if len(b) > maxPasswordStdin {
			return statusError{1, fmt.Errorf("password on stdin longer than %d bytes", maxPasswordStdin)}
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	host := auth.Hostname(server)
	if host == "" {
		host = "index.docker.io"
	}
	if user == "" || pass == "" {
		f, ok := stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return statusError{1, errors.New("cannot perform an interactive login from a non TTY device")}
		}
		if user == "" {
			fmt.Fprint(cmd.OutOrStdout(), "Username: ")
			line, err := in.ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read username: %w", err)
			}
			user = strings.TrimSpace(line)
		}
		if pass == "" {
			fmt.Fprint(cmd.OutOrStdout(), "Password: ")
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(cmd.OutOrStdout())
			if err != nil {
				return fmt.Errorf("read password: %w", err)
			}
			pass = string(b)
		}
	}
	if user == "" || pass == "" {
		return statusError{1, errors.New("username and password are required")}
	}
	client, err := shipClient()
	if err != nil {
		return err
	}
	scheme, rt, err := client.RegistryTransport(cmd.Context(), host)
	if err != nil {
		return err
	}
	creds := auth.Credentials{Username: user, Password: pass}
	if err := auth.Verify(cmd.Context(), host, creds, rt, scheme == "http"); err != nil {
		return statusError{1, err}
	}
	store, err := auth.Open("")
	if err != nil {
		return err
	}
	if err := store.Put(cmd.Context(), host, creds); err != nil {
		return fmt.Errorf("save credentials for %s: %w", auth.Key(host), err)
	}
	fmt.Fprintln(cmd.OutOrStdout(), "Login Succeeded")
	return nil
}

func newLogoutCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "log out from a registry (Docker Hub if no server is given)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			store, err := auth.Open("")
			if err != nil {
				return err
			}
			key := auth.Key(server)
			err = store.Erase(cmd.Context(), server)
			if errors.Is(err, auth.ErrNotFound) {
				fmt.Fprintf(cmd.OutOrStdout(), "Not logged in to %s\n", key)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removing login credentials for %s\n", key)
			return nil
		},
	}
}
