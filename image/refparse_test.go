package image

import (
	"fmt"
	"strings"
	"testing"

	"github.com/distribution/reference"
)

// refView is everything berth reads from a parsed reference.
type refView struct {
	err                                         string
	str, familiar, repo, tag, dgst, domain, pth string
}

func viewOf(r Ref, err error) refView {
	if err != nil {
		return refView{err: err.Error()}
	}
	return refView{str: r.String(), familiar: r.Familiar(), repo: r.Repository(), tag: r.Tag(),
		dgst: r.Digest().String(), domain: r.Domain(), pth: r.Path()}
}

// upstreamParse is ParseRef as it was on distribution/reference.
func upstreamParse(s string) (reference.Named, error) {
	if s == "" {
		return nil, fmt.Errorf("image reference: empty")
	}
	n, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", s, err)
	}
	return reference.TagNameOnly(n), nil
}

func upstreamView(n reference.Named, err error) refView {
	if err != nil {
		return refView{err: err.Error()}
	}
	v := refView{str: n.String(), familiar: reference.FamiliarString(n), repo: reference.FamiliarName(n),
		domain: reference.Domain(n), pth: reference.Path(n)}
	if t, ok := n.(reference.Tagged); ok {
		v.tag = t.Tag()
	}
	if d, ok := n.(reference.Digested); ok {
		v.dgst = d.Digest().String()
	}
	return v
}

// checkSame requires ParseRef and WithTag to behave as distribution/reference
// did, and Domain/Path to be what ship got by parsing String() again.
func checkSame(t *testing.T, s, tag string) {
	t.Helper()
	r, err := ParseRef(s)
	n, uerr := upstreamParse(s)
	got, want := viewOf(r, err), upstreamView(n, uerr)
	if got != want {
		t.Fatalf("ParseRef(%q):\n got  %+v\n want %+v", s, got, want)
	}
	if err != nil {
		return
	}
	if r2, err := ParseRef(s); err != nil || r2 != r {
		t.Fatalf("ParseRef(%q) twice: %v != %v (%v)", s, r2, r, err)
	}
	// ship/names.go used to parse String() again for domain and path.
	again, err := reference.ParseNormalizedNamed(r.String())
	if err != nil || reference.Domain(again) != r.Domain() || reference.Path(again) != r.Path() {
		t.Fatalf("ParseRef(%q): reparsed %q: %v, domain/path %q %q, ours %q %q", s, r.String(), err,
			reference.Domain(again), reference.Path(again), r.Domain(), r.Path())
	}
	rt, err := r.WithTag(tag)
	nt, uerr := reference.WithTag(reference.TrimNamed(n), tag)
	if uerr != nil {
		uerr = fmt.Errorf("tag %q: %w", tag, uerr)
	}
	if got, want := viewOf(rt, err), upstreamView(nt, uerr); got != want {
		t.Fatalf("ParseRef(%q).WithTag(%q):\n got  %+v\n want %+v", s, tag, got, want)
	}
}

func TestParseRefTable(t *testing.T) {
	hex64 := strings.Repeat("ab", 32)
	dg := "sha256:" + hex64
	long := strings.Repeat("a", 247) // library/ + 247 = 255, the limit
	cases := []struct {
		in   string
		err  string // whole error text, or "" and want
		want refView
	}{
		{in: "busybox", want: refView{str: "docker.io/library/busybox:latest", familiar: "busybox:latest",
			repo: "busybox", tag: "latest", domain: "docker.io", pth: "library/busybox"}},
		{in: "index.docker.io/busybox", want: refView{str: "docker.io/library/busybox:latest", familiar: "busybox:latest",
			repo: "busybox", tag: "latest", domain: "docker.io", pth: "library/busybox"}},
		{in: "docker.io/library/foo/bar:1", want: refView{str: "docker.io/library/foo/bar:1", familiar: "library/foo/bar:1",
			repo: "library/foo/bar", tag: "1", domain: "docker.io", pth: "library/foo/bar"}},
		{in: "user/app:V1.0-rc_2", want: refView{str: "docker.io/user/app:V1.0-rc_2", familiar: "user/app:V1.0-rc_2",
			repo: "user/app", tag: "V1.0-rc_2", domain: "docker.io", pth: "user/app"}},
		{in: "localhost/app", want: refView{str: "localhost/app:latest", familiar: "localhost/app:latest",
			repo: "localhost/app", tag: "latest", domain: "localhost", pth: "app"}},
		{in: "localhost:5000/a/b@" + dg, want: refView{str: "localhost:5000/a/b@" + dg, familiar: "localhost:5000/a/b@" + dg,
			repo: "localhost:5000/a/b", dgst: dg, domain: "localhost:5000", pth: "a/b"}},
		{in: "busybox:1@" + dg, want: refView{str: "docker.io/library/busybox:1@" + dg, familiar: "busybox:1@" + dg,
			repo: "busybox", tag: "1", dgst: dg, domain: "docker.io", pth: "library/busybox"}},
		{in: "[::1]:5000/app:v1", want: refView{str: "[::1]:5000/app:v1", familiar: "[::1]:5000/app:v1",
			repo: "[::1]:5000/app", tag: "v1", domain: "[::1]:5000", pth: "app"}},
		{in: "Example.COM/app", want: refView{str: "Example.COM/app:latest", familiar: "Example.COM/app:latest",
			repo: "Example.COM/app", tag: "latest", domain: "Example.COM", pth: "app"}},
		{in: "Registry/app", want: refView{str: "Registry/app:latest", familiar: "Registry/app:latest",
			repo: "Registry/app", tag: "latest", domain: "Registry", pth: "app"}},
		// Not a valid host, but a valid path: Docker keeps it without domain.
		{in: "a_b.c/app", want: refView{str: "a_b.c/app:latest", familiar: "a_b.c/app:latest",
			repo: "a_b.c/app", tag: "latest", pth: "a_b.c/app"}},
		{in: "a--b.c__d/e", want: refView{str: "a--b.c__d/e:latest", familiar: "a--b.c__d/e:latest",
			repo: "a--b.c__d/e", tag: "latest", pth: "a--b.c__d/e"}},
		{in: long, want: refView{str: "docker.io/library/" + long + ":latest", familiar: long + ":latest",
			repo: long, tag: "latest", domain: "docker.io", pth: "library/" + long}},
		{in: "x:" + strings.Repeat("t", 128), want: refView{str: "docker.io/library/x:" + strings.Repeat("t", 128),
			familiar: "x:" + strings.Repeat("t", 128), repo: "x", tag: strings.Repeat("t", 128), domain: "docker.io", pth: "library/x"}},

		{in: "", err: "image reference: empty"},
		{in: hex64, err: fmt.Sprintf("image reference %q: invalid repository name (%s), cannot specify 64-byte hexadecimal strings", hex64, hex64)},
		{in: "UPPER", err: `image reference "UPPER": invalid reference format: repository name (library/UPPER) must be lowercase`},
		{in: "Foo/Bar:t", err: `image reference "Foo/Bar:t": invalid reference format: repository name (Bar) must be lowercase`},
		{in: "busybox@SHA256:" + hex64, err: fmt.Sprintf("image reference %q: invalid reference format: repository name (library/busybox@SHA256) must be lowercase", "busybox@SHA256:"+hex64)},
		{in: "example.com/foo:\u212a", err: fmt.Sprintf("image reference %q: repository name must be lowercase", "example.com/foo:\u212a")},
		{in: "\u212aelvin", err: "image reference \"\u212aelvin\": invalid reference format: repository name (library/\u212aelvin) must be lowercase"},
		{in: "a" + long, err: fmt.Sprintf("image reference %q: repository name must not be more than 255 characters", "a"+long)},
		{in: "x:" + strings.Repeat("t", 129), err: fmt.Sprintf("image reference %q: invalid reference format", "x:"+strings.Repeat("t", 129))},
		{in: "busybox@sha256:" + strings.Repeat("a", 63), err: fmt.Sprintf("image reference %q: invalid checksum digest length", "busybox@sha256:"+strings.Repeat("a", 63))},
		{in: "busybox@sha256:" + strings.ToUpper(hex64), err: fmt.Sprintf("image reference %q: invalid checksum digest format", "busybox@sha256:"+strings.ToUpper(hex64))},
		{in: "busybox@md5:" + strings.Repeat("a", 32), err: fmt.Sprintf("image reference %q: unsupported digest algorithm", "busybox@md5:"+strings.Repeat("a", 32))},
	}
	for _, c := range cases {
		r, err := ParseRef(c.in)
		got := viewOf(r, err)
		want := c.want
		if c.err != "" {
			want = refView{err: c.err}
		}
		if got != want {
			t.Errorf("ParseRef(%q):\n got  %+v\n want %+v", c.in, got, want)
		}
		checkSame(t, c.in, "v2")
	}
	for _, bad := range []string{
		"a:b:c", "a//b", "a/", "/a", "-x", "x-", "a..b", "a._b", "a___b", "a-_b", "x\x00y", "café", "foo\xff",
		"@" + dg, "a@b@" + dg, "a@" + dg + "@", "a:@" + dg, "a:t@", "localhost:/a", "localhost:5000a/b",
		"[fe80::1%eth0]:5000/repo", "[::1]x/a", "[::1/a", "[]/a", "a-.com/x", "-a.com/x", "a.com:port/x",
		"example.com:5000:5000/x", "a/b:c/d", " busybox", "busybox ", "busybox\n", "a@sha256:" + strings.Repeat("g", 64),
		"a@-sha256:" + hex64, "a@sha256-:" + hex64, "a@sha256+-b:" + hex64, "a@:" + hex64,
	} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q): no error", bad)
		}
		checkSame(t, bad, "v2")
	}
}

func TestRefWithTag(t *testing.T) {
	r, err := ParseRef("example.com/app:1@sha256:" + strings.Repeat("0", 64))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := r.WithTag("2")
	if err != nil || r2.String() != "example.com/app:2" || r2.Digest() != "" {
		t.Fatalf("WithTag(2) = %q %q, %v", r2.String(), r2.Digest(), err)
	}
	if want, _ := ParseRef("example.com/app:2"); r2 != want {
		t.Errorf("WithTag(2) = %#v, ParseRef gives %#v", r2, want)
	}
	if _, err := r.WithTag("-2"); err == nil || err.Error() != `tag "-2": invalid tag format` {
		t.Errorf("WithTag(-2): %v", err)
	}
	if _, err := (Ref{}).WithTag("1"); err == nil {
		t.Error("zero Ref WithTag: no error")
	}
	var z Ref
	if z.String() != "" || z.Familiar() != "" || z.Repository() != "" || z.Tag() != "" || z.Digest() != "" ||
		z.Domain() != "" || z.Path() != "" {
		t.Errorf("zero Ref: %+v", viewOf(z, nil))
	}
	a, _ := ParseRef("busybox")
	b, _ := ParseRef("docker.io/library/busybox:latest")
	if a != b {
		t.Errorf("busybox != docker.io/library/busybox:latest: %#v %#v", a, b)
	}
}

// variants derives more inputs from s: other domains, tags, digests,
// case and truncations, where the grammar's corners are.
func variants(s string) []string {
	dg := "@sha256:" + strings.Repeat("0", 64)
	out := []string{s, strings.ToUpper(s), strings.ToLower(s), "docker.io/" + s, "index.docker.io/" + s,
		"localhost/" + s, "[::1]:5000/" + s, "Foo/" + s, "a_b.c/" + s, s + ":tag", s + ":TAG", s + dg,
		s + ":t" + dg, s + "/", "/" + s, s + ":", s + "@", s + "@a.b:" + strings.Repeat("f", 32),
		s + "@A+b-c_d9:" + strings.Repeat("F", 40), s + "@sha256:" + strings.Repeat("0", 31), s + "@sha512" + dg[7:]}
	for i := 1; i < len(s); i += 1 + len(s)/8 {
		out = append(out, s[:i], s[i:])
	}
	return out
}

func TestParseRefDifferential(t *testing.T) {
	tags := []string{"v1", "latest", "_x", "-x", "", "a.b-c", strings.Repeat("t", 129), "T\u212a"}
	n := 0
	for _, seed := range upstreamRefCases {
		for _, s := range variants(seed) {
			checkSame(t, s, tags[n%len(tags)])
			n++
		}
	}
	if n < 2000 {
		t.Fatalf("only %d inputs", n)
	}
}

// FuzzParseRefDifferential runs ParseRef and distribution/reference on
// the same input and requires the same results. (FuzzParseRef, in
// reference_test.go, checks that ParseRef round-trips.)
func FuzzParseRefDifferential(f *testing.F) {
	for i, s := range upstreamRefCases {
		f.Add(s, []string{"v1", "-x", "a.b"}[i%3])
	}
	for _, s := range []string{"[::1]:5000/a:b@sha256:" + strings.Repeat("f", 64), "a_b.c/x", "\u212a", "x\xff/y",
		"Example.com:80/a__b--c.d/e:Tag", "localhost", "localhost:1/a"} {
		f.Add(s, "latest")
	}
	f.Fuzz(func(t *testing.T, s, tag string) {
		checkSame(t, s, tag)
	})
}
