package build

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"unknown", "FROM busybox\nRUN true\nFOO bar\n", 3, "unknown instruction: FOO"},
		{"no from", "RUN true\n", 1, "no build stage in current context"},
		{"env without value", "FROM busybox\nENV\n", 2, "ENV requires at least one argument"},
		{"bad healthcheck", "FROM busybox\nHEALTHCHECK --interval=x CMD true\n", 2, "invalid duration"},
		{"empty", "# only a comment\n", 1, "file with no instructions"},
		{"bad escape", "# escape=xx\nFROM busybox\n", 0, "escape"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.text), "Dockerfile.test")
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse: %v, want a *ParseError", err)
			}
			if pe.File != "Dockerfile.test" || pe.Line != c.line || !strings.Contains(pe.Error(), c.msg) {
				t.Errorf("got %q (line %d), want line %d and %q", pe.Error(), pe.Line, c.line, c.msg)
			}
			if strings.Count(pe.Error(), "\n") != 0 {
				t.Errorf("message is not one line: %q", pe.Error())
			}
		})
	}
}

func TestParseStages(t *testing.T) {
	df, err := Parse([]byte("ARG BASE=busybox\nFROM ${BASE} AS build\nRUN <<EOF\necho hi\nEOF\nFROM scratch\nCOPY --from=build /x /y\n"), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(df.MetaArgs) != 1 || len(df.Stages) != 2 || df.Stages[0].Name != "build" || df.Stages[1].BaseName != "scratch" {
		t.Fatalf("unexpected parse: %+v", df)
	}
	run, ok := df.Stages[0].Commands[0].(*instructions.RunCommand)
	if !ok || len(run.Files) != 1 || run.Files[0].Data != "echo hi\n" {
		t.Fatalf("heredoc RUN: %+v", df.Stages[0].Commands[0])
	}
}

func TestPortSpec(t *testing.T) {
	got, err := parsePortSpec("8000-8002/UDP")
	if err != nil || strings.Join(got, ",") != "8000/udp,8001/udp,8002/udp" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"x", "80/icmp", "9-1", "70000"} {
		if _, err := parsePortSpec(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestBuildArgs(t *testing.T) {
	env := map[string]string{"FROMENV": "e"}
	got, err := ParseBuildArgs([]string{"A=1", "B=", "FROMENV", "MISSING"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["A"] != "1" || got["B"] != "" || got["FROMENV"] != "e" {
		t.Fatalf("got %v", got)
	}
	if _, err := ParseBuildArgs([]string{"=x"}, nil); err == nil {
		t.Error("empty name accepted")
	}
}

// FuzzParse feeds arbitrary text through the reference parser and berth's
// conversion (stages, ARG expansion, the config of metadata steps): it
// must return an error or a result, never panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM busybox\nRUN echo hi\n",
		"ARG X=1\nFROM a:${X} AS b\nENV A=$X B=\"c d\"\nEXPOSE 80 ${X}/udp\nCOPY --from=b /a /b\n",
		"FROM scratch\nHEALTHCHECK --interval=1s CMD true\nSHELL [\"/bin/sh\",\"-c\"]\nONBUILD RUN x\n",
		"# escape=`\nFROM x\nRUN a `\n b\n",
		"FROM x\nRUN <<EOF\nhi\nEOF\n",
		"FROM x\nLABEL a=b \\\n c=d\nSTOPSIGNAL 9\nVOLUME [\"/a\"]\nWORKDIR a/../b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := Parse(data, "Dockerfile")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		b := &Builder{}
		p, err := b.plan(df, Options{BuildArgs: map[string]string{"X": "1"}})
		if err != nil {
			return
		}
		for _, sp := range p.stages {
			st := state{cfg: scratchConfig()}
			r := &stageRun{p: p, sp: &sp, args: newVars(), st: st, lex: shell.NewLex(df.Escape)}
			for _, c := range sp.stage.Commands {
				if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
					if e.Expand(r.expander()) != nil {
						continue
					}
				}
				m, ok, err := metaInstruction(c, &r.st, r.expandWords)
				if ok && err == nil && m.apply != nil {
					m.apply(&r.st)
				}
				if a, isArg := c.(*instructions.ArgCommand); isArg {
					r.arg(a)
				}
			}
		}
	})
}
