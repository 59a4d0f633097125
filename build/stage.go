package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"berth/image"
)

// stageRun is one stage being built.
type stageRun struct {
	b       *Builder
	p       *plan
	idx     int
	sp      *stagePlan
	o       Options
	prog    *Progress
	results []*stageResult
	st      state
	// lex expands words; it is the stage's own (not safe for sharing).
	lex *shell.Lex
	// args are the ARGs declared in the stage so far, with their values.
	args  *vars
	total int
	step  int
}

// runStage builds stage i from its base, once the stages it needs are
// built.
func (b *Builder) runStage(ctx context.Context, p *plan, i int, results []*stageResult, o Options, prog *Progress) (state, *vars, error) {
	sp := &p.stages[i]
	r := &stageRun{b: b, p: p, idx: i, sp: sp, o: o, prog: prog, results: results, args: newVars(), lex: shell.NewLex(p.df.Escape),
		total: len(sp.stage.Commands) + 1, step: 1}
	triggers, err := r.from(ctx)
	if err != nil {
		return state{}, nil, err
	}
	cmds := append(triggers, sp.stage.Commands...)
	r.total += len(triggers)
	for _, c := range cmds {
		r.step++
		if err := r.dispatch(ctx, c); err != nil {
			return state{}, nil, err
		}
	}
	return r.st, r.args, nil
}

func (r *stageRun) title(text string) string {
	return fmt.Sprintf("[%s %d/%d] %s", r.sp.name, r.step, r.total, text)
}

// from sets up the stage's starting state and returns the ONBUILD
// triggers of its base image, to run first.
func (r *stageRun) from(ctx context.Context) ([]instructions.Command, error) {
	sp := r.sp
	text := "FROM " + sp.base
	log := r.prog.step(r.title(text))
	fail := func(err error) ([]instructions.Command, error) {
		log.failed(err)
		return nil, &StepError{File: r.p.df.Name, Line: lineOf(sp.stage.Location), Instruction: text, Err: err}
	}
	switch {
	case sp.baseStage >= 0:
		r.st = r.results[sp.baseStage].st.clone()
		r.st.cmdSet = false
		// The ARGs the base stage declared stay declared (BuildKit).
		r.args = r.results[sp.baseStage].args.clone()
		// BuildKit runs the ONBUILD triggers of a stage too.
		triggers, err := r.takeTriggers()
		if err != nil {
			return fail(err)
		}
		log.done()
		return triggers, nil
	case strings.EqualFold(sp.base, "scratch"):
		r.st = state{cfg: scratchConfig(), key: stepKey("", "scratch", image.FormatPlatform(image.HostPlatform()))}
		log.done()
		return nil, nil
	}
	img, note, err := r.b.resolveBase(ctx, sp.base, r.o.Pull)
	if err != nil {
		return fail(err)
	}
	if note != "" {
		log.line(note)
	}
	cfg, layers, id, err := r.b.baseConfig(ctx, img)
	if err != nil {
		return fail(err)
	}
	r.st = state{cfg: cfg, layers: layers, key: stepKey("", "FROM", id.String())}
	triggers, err := r.takeTriggers()
	if err != nil {
		return fail(err)
	}
	log.done()
	return triggers, nil
}

// takeTriggers parses the base's ONBUILD triggers, to run first; they
// run in this build, so the new image does not keep them.
func (r *stageRun) takeTriggers() ([]instructions.Command, error) {
	var triggers []instructions.Command
	for _, t := range r.st.cfg.Config.OnBuild {
		c, err := parseTrigger(t, r.p.df.Escape)
		if err != nil {
			return nil, fmt.Errorf("ONBUILD trigger %q of %s: %w", t, r.sp.base, err)
		}
		triggers = append(triggers, c)
	}
	r.st.cfg.Config.OnBuild = nil
	return triggers, nil
}

// parseTrigger parses one ONBUILD expression as an instruction.
func parseTrigger(expr string, escape rune) (instructions.Command, error) {
	text := expr
	if escape != '\\' {
		text = "# escape=" + string(escape) + "\n" + expr
	}
	res, err := parser.Parse(bytes.NewReader([]byte(text)))
	if err != nil {
		return nil, err
	}
	if len(res.AST.Children) != 1 {
		return nil, errors.New("not one instruction")
	}
	switch strings.ToUpper(res.AST.Children[0].Value) {
	case "ONBUILD", "FROM", "MAINTAINER":
		return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", res.AST.Children[0].Value)
	}
	return instructions.ParseCommand(res.AST.Children[0])
}

func lineOf(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// expander expands words against the stage's ARGs and ENV.
func (r *stageRun) expander() instructions.SingleWordExpander {
	env := lexEnv{args: r.args, env: r.st.cfg.Config.Env}
	return func(word string) (string, error) {
		out, _, err := r.lex.ProcessWord(word, env)
		return out, err
	}
}

func (r *stageRun) expandWords(word string) ([]string, error) {
	return r.lex.ProcessWords(word, lexEnv{args: r.args, env: r.st.cfg.Config.Env})
}

// step is what an instruction does: its history text, the extra inputs
// of its cache key, its change to the config, and its change to the
// files (nil for none).
type step struct {
	createdBy string
	keyExtra  []string
	apply     func(s *state)
	files     func(ctx context.Context, rootfs, work string, log *stepLog) error
	// noHistory leaves the step out of the history (ONBUILD: docker
	// 20.10 records none).
	noHistory bool
}

// dispatch runs one instruction.
func (r *stageRun) dispatch(ctx context.Context, c instructions.Command) error {
	text := c.Name()
	if sc, ok := c.(fmt.Stringer); ok {
		text = sc.String()
	}
	log := r.prog.step(r.title(text))
	fail := func(err error) error {
		log.failed(err)
		return &StepError{File: r.p.df.Name, Line: lineOf(c.Location()), Instruction: text, Err: err}
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(r.expander()); err != nil {
			return fail(err)
		}
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		// Heredoc bodies (COPY <<EOF with an unquoted delimiter) expand
		// variables but keep quotes, as BuildKit does.
		lex := shell.NewLex('\\')
		lex.SkipProcessQuotes = true
		env := lexEnv{args: r.args, env: r.st.cfg.Config.Env}
		if err := e.ExpandRaw(func(word string) (string, error) {
			out, _, err := lex.ProcessWord(word, env)
			return out, err
		}); err != nil {
			return fail(err)
		}
	}
	if err := checkFlags(c); err != nil {
		return fail(err)
	}
	s, err := r.plan(ctx, c)
	if err != nil {
		return fail(err)
	}
	// The parent's chain ID (its content) is in the key too: should a
	// parent step run again and make other files (its cache entry went
	// with its layer), the steps after it run again, as they were made
	// on the old files.
	key := stepKey(r.st.key, append([]string{"parent:" + r.st.topChain(), s.createdBy}, s.keyExtra...)...)
	entry, hit := cacheEntry{}, false
	if !r.o.NoCache {
		entry, hit = r.b.cache.get(key)
	}
	if hit {
		log.cached()
	} else {
		entry.Created = time.Now().UTC()
		if s.files != nil {
			sl, err := r.b.fsStep(ctx, &r.st, func(rootfs, work string) error { return s.files(ctx, rootfs, work, log) })
			if err != nil {
				return fail(err)
			}
			entry.Layer, entry.DiffID = sl.Layer, sl.DiffID
		}
		// Recorded only now that the layer is committed: a build killed
		// before this line leaves no entry pointing at nothing.
		if err := r.b.cache.put(key, entry); err != nil {
			return fail(err)
		}
		log.done()
	}
	if s.apply != nil {
		s.apply(&r.st)
	}
	if !s.noHistory {
		created := entry.Created
		r.st.cfg.History = append(r.st.cfg.History, ocispec.History{
			Created: &created, CreatedBy: s.createdBy, Comment: historyComment, EmptyLayer: entry.Layer == nil,
		})
	}
	if entry.Layer != nil {
		r.st.layers = append(r.st.layers, *entry.Layer)
		r.st.cfg.RootFS.DiffIDs = append(append([]digest.Digest{}, r.st.cfg.RootFS.DiffIDs...), entry.DiffID)
	}
	r.st.key = key
	return nil
}

// historyComment is the comment BuildKit puts on every history entry.
const historyComment = "buildkit.dockerfile.v0"

// plan works out what instruction c does in the current state.
func (r *stageRun) plan(ctx context.Context, c instructions.Command) (step, error) {
	if m, ok, err := metaInstruction(c, &r.st, r.expandWords); ok || err != nil {
		// docker 20.10's BuildKit records no history for ONBUILD.
		_, onbuild := c.(*instructions.OnbuildCommand)
		return step{createdBy: m.createdBy, apply: m.apply, noHistory: onbuild}, err
	}
	switch c := c.(type) {
	case *instructions.ArgCommand:
		return r.arg(c), nil
	case *instructions.WorkdirCommand:
		return r.workdir(c)
	case *instructions.RunCommand:
		return r.run(c)
	case *instructions.CopyCommand:
		return r.copyStep(ctx, c.SourcesAndDest, c.From, c.Chown, c.Chmod, false, c.String())
	case *instructions.AddCommand:
		return r.copyStep(ctx, c.SourcesAndDest, "", c.Chown, c.Chmod, true, c.String())
	}
	return step{}, fmt.Errorf("instruction %s is not supported", c.Name())
}

// arg declares build args in the stage: the --build-arg value, else the
// default, else the global ARG's value (for a name declared before the
// first FROM), else a predefined platform ARG.
func (r *stageRun) arg(c *instructions.ArgCommand) step {
	var parts, values []string
	for _, kv := range c.Args {
		v, ok := r.p.buildArgs[kv.Key]
		switch {
		case ok:
			r.p.markUsed(kv.Key)
		case kv.Value != nil:
			v, ok = *kv.Value, true
		case r.p.declaredGlobal[kv.Key]:
			v, ok = r.p.global.get(kv.Key)
		default:
			v, ok = platformArgs()[kv.Key]
		}
		// History has the ARG as written (its default), the key its
		// value.
		if kv.Value != nil {
			parts = append(parts, kv.Key+"="+*kv.Value)
		} else {
			parts = append(parts, kv.Key)
		}
		if ok {
			r.args.set(kv.Key, v)
			values = append(values, kv.Key+"="+v)
		} else {
			values = append(values, kv.Key)
		}
	}
	return step{createdBy: "ARG " + strings.Join(parts, " "), keyExtra: []string{"values:" + strings.Join(values, "\x00")}}
}

// workdir sets the working directory and creates it.
func (r *stageRun) workdir(c *instructions.WorkdirCommand) (step, error) {
	wd := workdirPath(r.st.cfg.Config.WorkingDir, c.Path)
	user := r.st.cfg.Config.User
	return step{
		createdBy: "WORKDIR " + wd,
		apply:     func(s *state) { s.cfg.Config.WorkingDir = wd },
		files: func(ctx context.Context, rootfs, work string, log *stepLog) error {
			return mkdirInRoot(rootfs, wd, user)
		},
	}, nil
}

// buildArgEnv is the environment build args give a RUN: the stage's
// declared ARGs ENV does not override (env), and undeclared proxy args
// passed on the command line (proxy: like BuildKit, kept out of the
// history and the cache key); history is the "|N K=V" prefix BuildKit
// records.
func (r *stageRun) buildArgEnv() (env, proxy, history []string) {
	for _, kv := range r.args.envList() {
		k, _, _ := strings.Cut(kv, "=")
		if v, ok := lookupEnv(r.st.cfg.Config.Env, k); ok {
			// ENV wins; BuildKit still lists the ARG, with ENV's value.
			history = append(history, k+"="+v)
			continue
		}
		env = append(env, kv)
		history = append(history, kv)
	}
	for _, k := range sortedKeys(r.p.buildArgs) {
		if isProxyArg(k) {
			if _, declared := r.args.get(k); !declared {
				proxy = append(proxy, k+"="+r.p.buildArgs[k])
				r.p.markUsed(k)
			}
		}
	}
	return env, proxy, history
}

// run runs a command in a container on the stage's files.
func (r *stageRun) run(c *instructions.RunCommand) (step, error) {
	cfg := &r.st.cfg.Config
	argv := commandLine(c.CmdLine, c.PrependShell, cfg)
	var files []instructions.ShellInlineFile
	if len(c.Files) > 0 {
		var err error
		if argv, files, err = heredocCommand(c, cfg); err != nil {
			return step{}, err
		}
	}
	if len(argv) == 0 {
		return step{}, errors.New("RUN with an empty command")
	}
	env, proxy, hist := r.buildArgEnv()
	createdBy := "RUN "
	if len(hist) > 0 {
		createdBy += fmt.Sprintf("|%d %s ", len(hist), strings.Join(hist, " "))
	}
	createdBy += strings.Join(argv, " ") + " # buildkit"
	for _, f := range files {
		createdBy += "\n" + f.Name + ":\n" + f.Data
	}
	network := r.o.Network
	if n := instructions.GetNetwork(c); n != "" && n != instructions.NetworkDefault {
		network = n // RUN --network=none|host
	}
	if network == "default" {
		network = ""
	}
	spec := runSpec{argv: argv, env: append([]string(nil), cfg.Env...), args: append(append([]string(nil), env...), proxy...), user: cfg.User,
		workdir: cfg.WorkingDir, network: network}
	extra := append([]string{"env:" + strings.Join(cfg.Env, "\x00"), "args:" + strings.Join(env, "\x00"),
		"user:" + cfg.User, "wd:" + cfg.WorkingDir, "net:" + network}, fileKeys(files)...)
	return step{
		createdBy: createdBy,
		keyExtra:  extra,
		files: func(ctx context.Context, rootfs, work string, log *stepLog) error {
			s := spec
			if len(files) > 0 {
				dir := filepath.Join(work, "pipes")
				if err := os.Mkdir(dir, 0o755); err != nil {
					return err
				}
				for _, f := range files {
					if err := os.WriteFile(filepath.Join(dir, path.Base(f.Name)), []byte(f.Data), 0o755); err != nil {
						return err
					}
				}
				s.binds = append(s.binds, dir+":/dev/pipes:ro")
			}
			return r.b.runContainer(ctx, rootfs, work, s, log)
		},
	}, nil
}

func fileKeys(files []instructions.ShellInlineFile) []string {
	var out []string
	for _, f := range files {
		out = append(out, "file:"+f.Name+"\x00"+f.Data)
	}
	return out
}

// heredocCommand turns `RUN <<EOF` into what BuildKit runs: a single
// heredoc with a #! line is a script file run directly; another single
// heredoc is passed to the shell as its command; several heredocs are
// given to the shell in one text.
func heredocCommand(c *instructions.RunCommand, cfg *dockerspec.DockerOCIImageConfig) ([]string, []instructions.ShellInlineFile, error) {
	if len(c.CmdLine) != 1 || !c.PrependShell {
		return nil, nil, errors.New("invalid heredoc RUN: use the shell form")
	}
	sh := shellOf(cfg)
	if hd, _ := parser.ParseHeredoc(c.CmdLine[0]); hd != nil && len(c.Files) == 1 {
		f := c.Files[0]
		data := f.Data
		if f.Chomp {
			data = parser.ChompHeredocContent(data)
		}
		if strings.HasPrefix(data, "#!") {
			f.Data = data
			return []string{"/dev/pipes/" + path.Base(f.Name)}, []instructions.ShellInlineFile{f}, nil
		}
		return append(sh, data), nil, nil
	}
	full := c.CmdLine[0]
	for _, f := range c.Files {
		full += "\n" + f.Data + f.Name
	}
	return append(sh, full), nil, nil
}
