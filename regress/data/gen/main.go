// Command gen writes the real pprof fixtures of regress/data/ using runtime/pprof
// (docs/DESIGN.md section 9: real profiles come from real Go programs, never hand-built
// bytes). The fixture cpu_b1.pb.gz comes from the separate program ./otherprog
// so that its binary, mappings and build ID differ.
//
//	go run . -out ..                  # all fixtures of this program
//	go run . -out .. -only heap,cpu   # some of them
//	go run ./otherprog -out ..        # cpu_b1.pb.gz
//	go run . -out .. -check           # summarize and check every fixture
//
// Each fixture group runs in a fresh child process (this same binary re-executed)
// so that one group's settings (MemProfileRate=1 for the heap profile) and
// goroutines never leak into another group's profile.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// childEnv names the fixture group a child process must produce.
const childEnv = "PGPPROF_GEN_CHILD"

var groups = []struct {
	name  string
	files string
	gen   func(out string) error
}{
	{"cpu", "cpu.pb.gz cpu.pb", genCPU},
	{"cpu_labels", "cpu_labels.pb.gz", genLabels},
	{"heap", "heap.pb.gz", genHeap},
	{"goroutine", "goroutine.pb.gz", genGoroutine},
	{"cpu_empty", "cpu_empty.pb.gz", genEmpty},
	{"merge", "cpu_a1.pb.gz cpu_a2.pb.gz cpu_a3.pb.gz cpu_a_long.pb.gz", genMerge},
	{"cpu_badutf8", "cpu_badutf8.pb.gz", genBadUTF8},
	{"wrong", "wrong/*: text dumps, a trace, error pages (see wrong.go)", genWrong},
}

func main() {
	child := os.Getenv(childEnv)
	if child == "heap" {
		// Record every allocation; must precede the allocations it should see.
		runtime.MemProfileRate = 1
	}

	out := flag.String("out", "", "directory to write the fixtures into (required)")
	only := flag.String("only", "", "comma-separated fixture groups (default: all)")
	doCheck := flag.Bool("check", false, "do not generate; summarize and check the fixtures in -out")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run . -out DIR [-only GROUPS] [-check]\n\ngroups:\n")
		for _, g := range groups {
			fmt.Fprintf(flag.CommandLine.Output(), "  %-11s %s\n", g.name, g.files)
		}
		fmt.Fprintf(flag.CommandLine.Output(), "  (cpu_b1.pb.gz: go run ./otherprog -out DIR)\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	if child != "" {
		for _, g := range groups {
			if g.name == child {
				if err := g.gen(*out); err != nil {
					fatal(err)
				}
				return
			}
		}
		fatal(fmt.Errorf("unknown group %q", child))
	}

	if *doCheck {
		if err := check(*out); err != nil {
			fatal(err)
		}
		return
	}

	selected := map[string]bool{}
	if *only != "" {
		for _, name := range strings.Split(*only, ",") {
			name = strings.TrimSpace(name)
			found := false
			for _, g := range groups {
				found = found || g.name == name
			}
			if !found {
				fatal(fmt.Errorf("unknown group %q (see -h)", name))
			}
			selected[name] = true
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	for _, g := range groups {
		if len(selected) > 0 && !selected[g.name] {
			continue
		}
		fmt.Fprintf(os.Stderr, "gen: %s -> %s\n", g.name, g.files)
		cmd := exec.Command(self, "-out", *out)
		cmd.Env = append(os.Environ(), childEnv+"="+g.name)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("group %s: %v", g.name, err))
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
