package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/template"
	"time"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"berth/image"
)

// imageInspect is Docker's `image inspect` object, with the fields berth
// has.
type imageInspect struct {
	ID           string                          `json:"Id"`
	RepoTags     []string                        `json:"RepoTags"`
	RepoDigests  []string                        `json:"RepoDigests"`
	Created      string                          `json:"Created"`
	Author       string                          `json:"Author"`
	Config       dockerspec.DockerOCIImageConfig `json:"Config"`
	Architecture string                          `json:"Architecture"`
	Variant      string                          `json:"Variant,omitempty"`
	Os           string                          `json:"Os"`
	Size         int64                           `json:"Size"`
	RootFS       struct {
		Type   string   `json:"Type"`
		Layers []string `json:"Layers"`
	} `json:"RootFS"`
	Descriptor ocispec.Descriptor `json:"Descriptor"`
}

func newImageInspectCommand(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "show images in detail, as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := g.openImages(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			all, err := s.List(ctx)
			if err != nil {
				return err
			}
			var out []imageInspect
			for _, arg := range args {
				img, err := resolveOne(cmd, s, arg)
				if err != nil {
					return err
				}
				v, err := inspectImage(cmd, s, img, all)
				if err != nil {
					return err
				}
				out = append(out, v)
			}
			return printInspect(format, out)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "a Go template applied to each object")
	return cmd
}

func inspectImage(cmd *cobra.Command, s *image.Store, img image.Image, all []image.Image) (imageInspect, error) {
	ctx := cmd.Context()
	sum, err := s.Summarize(ctx, img)
	if err != nil {
		return imageInspect{}, err
	}
	v := imageInspect{
		ID: sum.ID.String(), RepoTags: []string{}, RepoDigests: []string{},
		Author: sum.Config.Author, Config: dockerspec.DockerOCIImageConfig{ImageConfig: sum.Config.Config},
		Architecture: sum.Config.Architecture, Variant: sum.Config.Variant, Os: sum.Config.OS,
		Size: sum.Size, Descriptor: img.Target,
	}
	// Docker's extensions (Healthcheck, OnBuild, Shell, ArgsEscaped) that
	// the OCI type drops, from the config blob itself.
	if raw, err := s.Content().ReadBlob(sum.ID, image.MaxManifestSize); err == nil {
		var full dockerspec.DockerOCIImage
		if json.Unmarshal(raw, &full) == nil {
			v.Config = full.Config
		}
	}
	if !sum.Created.IsZero() {
		v.Created = sum.Created.UTC().Format(time.RFC3339Nano)
	}
	// Every name with the same image ID.
	for _, other := range all {
		if id, err := s.ID(ctx, other); err == nil && id == sum.ID {
			v.RepoTags = append(v.RepoTags, other.Name.Familiar())
			v.RepoDigests = append(v.RepoDigests, other.Name.Repository()+"@"+other.Target.Digest.String())
		}
	}
	v.RootFS.Type = "layers"
	for _, d := range sum.Config.RootFS.DiffIDs {
		v.RootFS.Layers = append(v.RootFS.Layers, d.String())
	}
	return v, nil
}

// printInspect prints objects as a JSON array, or each through a template.
func printInspect[T any](format string, objs []T) error {
	if format == "" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "    ")
		return enc.Encode(objs)
	}
	tmpl, err := template.New("format").Funcs(templateFuncs()).Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, o := range objs {
		// Through JSON, so templates see Docker's field names.
		var m any
		b, _ := json.Marshal(o)
		_ = json.Unmarshal(b, &m)
		if err := tmpl.Execute(os.Stdout, m); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Println()
	}
	return nil
}
