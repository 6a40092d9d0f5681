package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlock is a fenced block of the README or a docs page.
type docBlock struct {
	file, info string
	line       int
	text       string
}

// docBlocks reads every fenced block of the README and docs/*.md.
func docBlocks(t *testing.T) []docBlock {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append([]string{"../../README.md"}, files...)
	var out []docBlock
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cur *docBlock
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			switch {
			case cur == nil && strings.HasPrefix(line, "```"):
				cur = &docBlock{file: filepath.Base(f), info: strings.TrimPrefix(line, "```"), line: n}
			case cur != nil && line == "```":
				out = append(out, *cur)
				cur = nil
			case cur != nil:
				cur.text += strings.TrimPrefix(sc.Text(), strings.Repeat(" ", indent(sc.Text()))) + "\n"
			}
		}
	}
	return out
}

func indent(s string) int { return len(s) - len(strings.TrimLeft(s, " ")) }

// Every TOML block the docs mark runnable (```toml check) is a whole
// configuration `civicdns check` accepts, once its CA is made as the quick
// start does (its /etc and /var paths moved to a folder of the test's).
func TestDocsConfigurationsCheck(t *testing.T) {
	t.Parallel()
	n := 0
	for _, b := range docBlocks(t) {
		if b.info != "toml check" {
			continue
		}
		n++
		dir := t.TempDir()
		text := strings.NewReplacer("/etc/civicdns", filepath.Join(dir, "etc"), "/var/lib/civicdns", filepath.Join(dir, "var")).Replace(b.text)
		// Listen addresses of a city's network become loopback's: check warns about the rest.
		text = regexp.MustCompile(`"10\.0\.0\.53:\d+"`).ReplaceAllString(text, `"127.0.0.1:0"`)
		cfg := writeFile(t, dir, "civicdns.toml", text)
		var out, errb bytes.Buffer
		if code := run([]string{"ca", "init", "-dir", filepath.Join(dir, "etc")}, &out, &errb); code != 0 {
			t.Fatal(errb.String())
		}
		errb.Reset()
		if code := run([]string{"check", cfg}, &out, &errb); code != 0 {
			t.Errorf("%s:%d: the configuration does not check:\n%s", b.file, b.line, errb.String())
		}
	}
	if n == 0 {
		t.Fatal("no ```toml check block in the README or docs/")
	}
}

// Every civicdns command line of the docs' shell blocks names a command
// that exists, with flags it takes.
func TestDocsCommandsParse(t *testing.T) {
	t.Parallel()
	flagRe := regexp.MustCompile(`^-[a-z][a-z-]*`)
	checked := 0
	for _, b := range docBlocks(t) {
		if b.info != "sh" {
			continue
		}
		for _, line := range strings.Split(b.text, "\n") {
			line, _, _ = strings.Cut(line, "#")
			words := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "sudo "))
			if len(words) < 2 || words[0] != "civicdns" && !(words[0] == "go" && len(words) > 3 && words[2] == "./cmd/civicdns") {
				continue
			}
			if words[0] == "go" {
				words = words[2:]
			}
			args := words[1:]
			if !strings.Contains(usage, "\n  "+args[0]+" ") && args[0] != "version" {
				t.Errorf("%s:%d: %q is not a civicdns command", b.file, b.line, args[0])
				continue
			}
			checked++
			help := []string{args[0]}
			if len(args) > 1 && !strings.HasPrefix(args[1], "-") && !strings.Contains(args[1], "/") && !strings.Contains(args[1], ".") {
				help = append(help, args[1]) // a verb: its flags are its own
			}
			var out, errb bytes.Buffer
			run(append(help, "-h"), &out, &errb)
			known := out.String() + errb.String()
			for _, a := range args[1:] {
				if f := flagRe.FindString(a); f != "" && !strings.Contains(known, "  "+f) && !strings.Contains(known, " "+f+" ") && !strings.Contains(known, "["+f) {
					t.Errorf("%s:%d: civicdns %s has no flag %s", b.file, b.line, args[0], f)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no civicdns command in the docs' shell blocks")
	}
}
