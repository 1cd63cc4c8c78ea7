// Command pgo-check tells whether a PGO profile still fits the code.
//
// The compiler keys each call edge of a profile by caller, callee and the
// call's line offset from the caller's first line, and silently ignores the
// edges that no longer match a call site. pgo-check reads the edges the
// compiler reads (go tool preprofile of the profile, or the profile itself
// when it is already in that form), keeps the hot ones (the compiler's CDF
// rule, 99% by default), parses the Go source of the module of a main
// package and reports which hot edges still match a call site there, as a
// share of the hot weight, listing the heaviest ones that do not.
//
// Usage:
//
//	pgo-check [flags] [main package directory, default .]
//
// Flags:
//
//	-profile default.pgo | http://gateway/profile/<tag>
//	    the profile: a file or a URL (default: default.pgo in the package)
//	-cdf 99        hot call sites: the heaviest edges making up this percent
//	-fail 80       exit 1 when the matching share is below this percent
//	-warn 95       exit 3 when it is below this percent
//	-top 10        how many non-matching edges to list
//	-go go         the go command (for go tool preprofile)
//
// Only edges whose caller is in the module are judged; the others
// (standard library, dependencies) and calls the compiler inserts into the
// runtime (map access, allocation, ...) are counted apart. Exit status: 0
// fits, 3 warning, 1 failure, 2 the check could not run.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

const (
	exitOK      = 0
	exitFail    = 1
	exitError   = 2
	exitWarning = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: arguments in, report out, exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pgo-check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("profile", "", "profile file or URL (default: default.pgo in the package directory)")
	cdf := fs.Float64("cdf", 99, "CDF threshold in percent: the hot call sites make up this share of the edge weight")
	failBelow := fs.Float64("fail", 80, "exit 1 when the matching share of hot weight is below this percent")
	warnBelow := fs.Float64("warn", 95, "exit 3 when the matching share of hot weight is below this percent")
	top := fs.Int("top", 10, "non-matching hot edges to list")
	goCmd := fs.String("go", "go", "the go command, for go tool preprofile")
	if err := fs.Parse(args); err != nil {
		return exitError
	}
	if fs.NArg() > 1 || *cdf < 0 || *cdf > 100 {
		fs.Usage()
		return exitError
	}
	pkgDir := "."
	if fs.NArg() == 1 {
		pkgDir = fs.Arg(0)
	}
	if *profile == "" {
		*profile = pkgDir + string(os.PathSeparator) + "default.pgo"
	}

	edges, err := loadEdges(*profile, *goCmd)
	if err != nil {
		fmt.Fprintf(stderr, "pgo-check: %v\n", err)
		return exitError
	}
	mod, err := loadModule(pkgDir)
	if err != nil {
		fmt.Fprintf(stderr, "pgo-check: %v\n", err)
		return exitError
	}
	rep := check(hotEdges(edges, *cdf), mod)
	rep.write(stdout, *profile, mod, *cdf, *top)
	switch {
	case rep.judged == 0:
		return exitOK
	case rep.share() < *failBelow:
		return exitFail
	case rep.share() < *warnBelow:
		return exitWarning
	}
	return exitOK
}
