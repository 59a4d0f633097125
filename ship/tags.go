package ship

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"berth/image"
)

// Bounds of a tag listing, against a registry whose pages never end.
const (
	maxTagPages = 1000
	maxTags     = 100000
)

// Tags lists the tags of ref's repository (pull --all-tags), following
// the registry's pages.
func (c *Client) Tags(ctx context.Context, ref image.Ref) ([]string, error) {
	repo, _, err := remoteName(ref)
	if err != nil {
		return nil, err
	}
	ep, err := c.endpoint(ctx, repo.RegistryStr(), repo.RepositoryStr(), "")
	if err != nil {
		return nil, err
	}
	defer ep.close()
	sess, err := c.open(ctx, ep, transport.PullScope)
	if err == nil {
		var tags []string
		if tags, err = sess.tags(ctx); err == nil {
			return tags, nil
		}
	}
	return nil, fmt.Errorf("list tags of %s: %w", ref.Repository(), describeError(err))
}

// tags reads the tag list page by page: each page at most
// image.MaxManifestSize bytes, the next named by a Link header on the
// same registry.
func (s *session) tags(ctx context.Context) ([]string, error) {
	var out []string
	next := s.url("tags/list")
	for page := 0; next != ""; page++ {
		if page >= maxTagPages {
			return nil, fmt.Errorf("tag list of more than %d pages", maxTagPages)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, err
		}
		tags, link, err := readTagPage(resp)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if out = append(out, tags...); len(out) > maxTags {
			return nil, fmt.Errorf("tag list of more than %d tags", maxTags)
		}
		if next, err = nextPage(resp.Request.URL, link, s.ep.scheme, s.ep.host); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readTagPage decodes one page of a tag list and returns its Link header.
func readTagPage(resp *http.Response) ([]string, string, error) {
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, image.MaxManifestSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("read tag list: %w", err)
	}
	if len(b) > image.MaxManifestSize {
		return nil, "", fmt.Errorf("tag list page larger than %d bytes", image.MaxManifestSize)
	}
	var page struct {
		Tags []string `json:"tags"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, "", fmt.Errorf("parse tag list: %w", err)
	}
	return page.Tags, resp.Header.Get("Link"), nil
}

// nextPage is the URL a Link header (`<url>; rel="next"`) names, resolved
// against the page's own (base); "" when there is none. A link away from
// the registry (scheme, host) is refused: its credentials go with it.
func nextPage(base *url.URL, link, scheme, host string) (string, error) {
	if link == "" {
		return "", nil
	}
	target, _, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(link), "<"), ">")
	if !ok || !strings.HasPrefix(strings.TrimSpace(link), "<") {
		return "", fmt.Errorf("tag list: malformed Link header %q", link)
	}
	if target == "" {
		return "", nil
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("tag list: Link header %q: %w", link, err)
	}
	u = base.ResolveReference(u)
	if u.Scheme != scheme || u.Host != host {
		return "", fmt.Errorf("tag list: next page on another host (%s)", u.Redacted())
	}
	return u.String(), nil
}
