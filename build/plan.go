package build

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"berth/image"
)

// plan is a Dockerfile resolved for one build: the global ARGs, each
// stage's base and the stages it needs, and which stages to build.
type plan struct {
	df     *Dockerfile
	global *vars // ARGs before the first FROM, and the platform ARGs
	// declaredGlobal are the names declared before the first FROM.
	declaredGlobal map[string]bool
	buildArgs      map[string]string
	stages         []stagePlan
	target         int
	needed         []int

	mu   sync.Mutex
	used map[string]bool // build args some ARG consumed
}

// stagePlan is one stage, resolved.
type stagePlan struct {
	stage instructions.Stage
	// name is the stage's name for messages: its AS name, else stage-N.
	name string
	// base is the expanded FROM argument; baseStage the stage it names
	// (-1 for an image or scratch).
	base      string
	baseStage int
	// deps are the stages it needs: its base and COPY --from sources.
	deps []int
	// copyFrom maps the --from values that name stages to their index.
	copyFrom map[string]int
}

// plan resolves the Dockerfile's stages against the build args.
func (b *Builder) plan(df *Dockerfile, o Options) (*plan, error) {
	p := &plan{df: df, global: newVars(), declaredGlobal: map[string]bool{},
		buildArgs: o.BuildArgs, used: map[string]bool{}}
	if p.buildArgs == nil {
		p.buildArgs = map[string]string{}
	}
	for k, v := range platformArgs() {
		p.global.set(k, v)
	}
	for _, a := range df.MetaArgs {
		for _, kv := range a.Args {
			key, err := p.expand(kv.Key, p.global)
			if err != nil {
				return nil, p.errAt(a.Location(), err)
			}
			p.declaredGlobal[key] = true
			if v, ok := p.buildArgs[key]; ok {
				p.global.set(key, v)
				p.markUsed(key)
				continue
			}
			if kv.Value != nil {
				v, err := p.expand(*kv.Value, p.global)
				if err != nil {
					return nil, p.errAt(a.Location(), err)
				}
				p.global.set(key, v)
			}
		}
	}
	// COPY --from may name any stage (BuildKit), FROM only an earlier
	// one: all names first, each FROM then looks at those before it.
	all := map[string]int{}
	for i, s := range df.Stages {
		if s.Name == "" {
			continue
		}
		if _, dup := all[strings.ToLower(s.Name)]; dup {
			return nil, p.errAt(s.Location, fmt.Errorf("duplicate stage name %q", s.Name))
		}
		all[strings.ToLower(s.Name)] = i
	}
	for i, s := range df.Stages {
		sp := stagePlan{stage: s, name: strings.ToLower(s.Name), baseStage: -1, copyFrom: map[string]int{}}
		if sp.name == "" {
			sp.name = "stage-" + strconv.Itoa(i)
		}
		base, err := p.expand(s.BaseName, p.global)
		if err != nil {
			return nil, p.errAt(s.Location, err)
		}
		if base == "" {
			return nil, p.errAt(s.Location, fmt.Errorf("base name (%s) should not be blank", s.BaseName))
		}
		sp.base = base
		if err := p.checkPlatform(s); err != nil {
			return nil, p.errAt(s.Location, err)
		}
		if j, ok := all[strings.ToLower(base)]; ok && j < i {
			sp.baseStage = j
			sp.deps = append(sp.deps, j)
		}
		for _, c := range s.Commands {
			cp, ok := c.(*instructions.CopyCommand)
			if !ok || cp.From == "" {
				continue
			}
			from, err := p.expand(cp.From, p.global)
			if err != nil {
				return nil, p.errAt(c.Location(), err)
			}
			j, isStage := all[strings.ToLower(from)]
			if !isStage {
				if n, err := strconv.Atoi(from); err == nil {
					if n < 0 || n >= len(df.Stages) {
						return nil, p.errAt(c.Location(), fmt.Errorf("invalid stage index %d", n))
					}
					j, isStage = n, true
				}
			}
			if isStage {
				sp.copyFrom[from] = j
				sp.deps = append(sp.deps, j)
			}
		}
		p.stages = append(p.stages, sp)
	}
	p.target = len(p.stages) - 1
	if o.Target != "" {
		j, ok := all[strings.ToLower(o.Target)]
		if !ok {
			return nil, fmt.Errorf("failed to reach build target %s in Dockerfile", o.Target)
		}
		p.target = j
	}
	seen, err := p.reach(p.target)
	if err != nil {
		return nil, err
	}
	for i := range p.stages {
		if seen[i] {
			p.needed = append(p.needed, i)
		}
	}
	return p, nil
}

// checkPlatform accepts FROM --platform only for the host's platform
// (usually $BUILDPLATFORM or $TARGETPLATFORM): berth does not build for
// other ones, and building for the host instead would be wrong silently.
func (p *plan) checkPlatform(s instructions.Stage) error {
	if s.Platform == "" {
		return nil
	}
	v, err := p.expand(s.Platform, p.global)
	if err != nil {
		return fmt.Errorf("FROM --platform=%s: %w", s.Platform, err)
	}
	want, err := image.ParsePlatform(v)
	if err != nil {
		return fmt.Errorf("FROM --platform=%s: %w", s.Platform, err)
	}
	if host := image.HostPlatform(); !image.MatchPlatform(host, want) {
		return fmt.Errorf("FROM --platform=%s: berth builds for %s only", v, image.FormatPlatform(host))
	}
	return nil
}

// reach returns the stages target needs (itself included), or an error
// naming a stage that needs itself, as BuildKit's.
func (p *plan) reach(target int) (map[int]bool, error) {
	const (
		visiting = 1
		visited  = 2
	)
	mark := map[int]int{}
	var visit func(i int) error
	visit = func(i int) error {
		switch mark[i] {
		case visiting:
			return p.errAt(p.stages[i].stage.Location, fmt.Errorf("circular dependency detected on stage: %s", p.stages[i].name))
		case visited:
			return nil
		}
		mark[i] = visiting
		for _, d := range p.stages[i].deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		mark[i] = visited
		return nil
	}
	if err := visit(target); err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	for i := range mark {
		seen[i] = true
	}
	return seen, nil
}

// expand expands a word against v (and nothing else). A shell.Lex is
// not safe for concurrent use: stages running at once each get one.
func (p *plan) expand(word string, v *vars) (string, error) {
	out, _, err := shell.NewLex(p.df.Escape).ProcessWord(word, lexEnv{args: v})
	return out, err
}

func (p *plan) markUsed(k string) {
	p.mu.Lock()
	p.used[k] = true
	p.mu.Unlock()
}

// unusedArgs is Docker's warning about build args no ARG consumed.
func (p *plan) unusedArgs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var unused []string
	for k := range p.buildArgs {
		if !p.used[k] && !isProxyArg(k) {
			unused = append(unused, k)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	sort.Strings(unused)
	return []string{fmt.Sprintf("One or more build-args [%s] were not consumed", strings.Join(unused, " "))}
}

// errAt gives err the Dockerfile position of loc.
func (p *plan) errAt(loc []parserRange, err error) error {
	e := &StepError{File: p.df.Name, Err: err}
	if len(loc) > 0 {
		e.Line = loc[0].Start.Line
	}
	return e
}

// StepError is a failure of one instruction: where it is in the
// Dockerfile, the instruction, and what went wrong.
type StepError struct {
	File        string
	Line        int
	Instruction string
	Err         error
}

// Error is "FILE:LINE: INSTRUCTION: cause".
func (e *StepError) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Instruction != "" {
		return fmt.Sprintf("%s: %s: %v", pos, e.Instruction, e.Err)
	}
	return fmt.Sprintf("%s: %v", pos, e.Err)
}

// Unwrap returns the cause.
func (e *StepError) Unwrap() error { return e.Err }

type parserRange = parser.Range
