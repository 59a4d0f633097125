//go:build berthfull

package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"berth/image"
	"berth/ship"
)

func newManifestCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "manifest", Short: "inspect manifests and indexes on a registry"}
	cmd.AddCommand(newManifestInspectCommand(g))
	return cmd
}

func newManifestInspectCommand(g *globals) *cobra.Command {
	var verbose, insecure bool
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "print an image's manifest or index as the registry serves it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := image.ParseRef(args[0])
			if err != nil {
				return err
			}
			c, err := shipClient()
			if err != nil {
				return err
			}
			top, children, err := c.Inspect(cmd.Context(), ref, verbose)
			if err != nil {
				return fmt.Errorf("manifest inspect %s: %w", ref.Familiar(), err)
			}
			out := cmd.OutOrStdout()
			if !verbose {
				return writeIndented(out, top.Raw)
			}
			var list []verboseManifest
			if children == nil {
				list = []verboseManifest{verboseOf(top)}
			} else {
				for _, c := range children {
					list = append(list, verboseOf(c))
				}
			}
			b, err := json.Marshal(list)
			if err != nil {
				return err
			}
			if children == nil {
				b, _ = json.Marshal(list[0])
			}
			return writeIndented(out, b)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the descriptor and, for an index, every manifest")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "accepted for Docker compatibility; set insecure registries in berth.json")
	return cmd
}

// verboseManifest is docker manifest inspect --verbose's shape.
type verboseManifest struct {
	Ref        string             `json:"Ref"`
	Descriptor ocispec.Descriptor `json:"Descriptor"`
	Raw        []byte             `json:"Raw"`
	Manifest   json.RawMessage    `json:"SchemaV2Manifest,omitempty"`
	OCI        json.RawMessage    `json:"OCIManifest,omitempty"`
}

func verboseOf(m ship.Manifest) verboseManifest {
	v := verboseManifest{Ref: m.Ref, Descriptor: m.Descriptor, Raw: m.Raw}
	if m.Descriptor.MediaType == image.MediaTypeDockerManifest {
		v.Manifest = m.Raw
	} else {
		v.OCI = m.Raw
	}
	return v
}

// writeIndented prints JSON with Docker's three-space indent.
func writeIndented(w interface{ Write([]byte) (int, error) }, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "   "); err != nil {
		return fmt.Errorf("manifest is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
