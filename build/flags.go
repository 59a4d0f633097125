package build

import (
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// checkFlags refuses the instruction flags the parser accepts but berth
// does not implement: ignoring them would build something other than
// what the Dockerfile asks (COPY --exclude copying the excluded files,
// RUN --mount running without its mount).
func checkFlags(c instructions.Command) error {
	var flags []string
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if len(c.ExcludePatterns) > 0 {
			flags = append(flags, "--exclude")
		}
		if c.Parents {
			flags = append(flags, "--parents")
		}
	case *instructions.AddCommand:
		if len(c.ExcludePatterns) > 0 {
			flags = append(flags, "--exclude")
		}
		if c.Checksum != "" {
			flags = append(flags, "--checksum")
		}
		if c.KeepGitDir != nil {
			flags = append(flags, "--keep-git-dir")
		}
		if c.Unpack != nil {
			flags = append(flags, "--unpack")
		}
	case *instructions.RunCommand:
		if len(instructions.GetMounts(c)) > 0 {
			flags = append(flags, "--mount")
		}
		if instructions.GetSecurity(c) == instructions.SecurityInsecure {
			flags = append(flags, "--security=insecure")
		}
		if len(instructions.GetDevices(c)) > 0 {
			flags = append(flags, "--device")
		}
	}
	if len(flags) > 0 {
		return fmt.Errorf("%s %s: not supported by berth build", strings.ToUpper(c.Name()), strings.Join(flags, " "))
	}
	return nil
}
