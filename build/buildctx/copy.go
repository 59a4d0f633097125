package buildctx

import (
	"context"
	"fmt"
	"maps"

	"berth/build/copier"
)

// Copy copies sources (from Sources) into destRoot at dest with
// copier.Copy, leaving out what .dockerignore excludes and reusing URLs
// that Hash already downloaded. o carries the step's --chown, --chmod,
// ADD mode and working directory.
func (c *Context) Copy(ctx context.Context, sources []Source, destRoot, dest string, o copier.Options) error {
	paths := make([]string, len(sources))
	for i, s := range sources {
		if s.URL && !o.ExtractArchives {
			return fmt.Errorf("source can't be a URL for COPY: %s", s.Path)
		}
		paths[i] = s.Path
	}
	rules := c.rules()
	o.Exclude = rules.exclude
	c.mu.Lock()
	o.Fetched = maps.Clone(c.fetched)
	c.mu.Unlock()
	if o.HTTPClient == nil {
		o.HTTPClient = c.client
	}
	return copier.Copy(ctx, c.dir, paths, destRoot, dest, o)
}
