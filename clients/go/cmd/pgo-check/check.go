package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// verdict of one hot edge against the source.
type verdict int

const (
	matched  verdict = iota // a call of the callee at caller start + offset
	moved                   // the caller exists, the call is not at that line
	gone                    // the caller is not in the source any more
	outside                 // the caller is not in the module: not judged
	implicit                // a call the compiler inserts into the runtime: not judged
)

// finding is one hot edge and what the source says of it.
type finding struct {
	edge
	verdict verdict
	fn      *function // the caller, when found
}

// report sums the findings: weights are of hot edges.
type report struct {
	findings        []finding
	hot, judged     int64 // total hot weight, weight of the judged edges
	matchedW        int64
	outsideW, implW int64
}

// share of the judged hot weight that still matches, in percent.
func (r *report) share() float64 {
	if r.judged == 0 {
		return 100
	}
	return float64(r.matchedW) / float64(r.judged) * 100
}

// check judges each hot edge against the module's source.
func check(hot []edge, m *module) *report {
	r := &report{}
	for _, e := range hot {
		f := finding{edge: e}
		r.hot += e.Weight
		switch {
		case !inModule(e.Caller, m):
			f.verdict = outside
			r.outsideW += e.Weight
		case isRuntime(e.Callee):
			f.verdict = implicit
			r.implW += e.Weight
		default:
			r.judged += e.Weight
			f.fn = m.funcs[e.Caller]
			switch {
			case f.fn == nil:
				f.verdict = gone
			case callsAt(f.fn, f.fn.StartLine+e.Offset, e.Callee):
				f.verdict = matched
				r.matchedW += e.Weight
			default:
				f.verdict = moved
			}
		}
		r.findings = append(r.findings, f)
	}
	return r
}

// inModule: is the function (a linker name) one of the module's?
func inModule(name string, m *module) bool {
	return strings.HasPrefix(name, "main.") ||
		strings.HasPrefix(name, m.Path+".") || strings.HasPrefix(name, m.Path+"/")
}

// isRuntime: calls into the runtime from other packages are mostly
// inserted by the compiler (map access, allocation, conversions, write
// barriers: assembly functions without a package, like gcWriteBarrier),
// with no call expression in the source to match.
func isRuntime(name string) bool {
	name = withoutTypeArgs(name)
	return strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "internal/runtime/") ||
		!strings.Contains(name[strings.LastIndex(name, "/")+1:], ".")
}

// callsAt: does the function call the callee on that line? Closures and
// wrappers are called through values, so any call there will do.
func callsAt(fn *function, line int, callee string) bool {
	want := lastName(callee)
	for _, got := range fn.calls[line] {
		if want == "" || got == want {
			return true
		}
	}
	return false
}

// lastName is the identifier a call of the function ends with:
// "pkg/path.(*T).M" -> "M", "pkg.F[...]" -> "F"; "" for closures and
// compiler-made wrappers (pkg.F.func1, pkg.F.func1.2, pkg.F.deferwrap1).
func lastName(sym string) string {
	sym = withoutTypeArgs(sym)
	if i := strings.LastIndex(sym, "/"); i >= 0 {
		sym = sym[i+1:]
	}
	parts := strings.Split(sym, ".")
	last := parts[len(parts)-1]
	if last == "" || last[0] >= '0' && last[0] <= '9' ||
		strings.HasPrefix(last, "func") && len(parts) > 2 ||
		strings.Contains(last, "wrap") && len(parts) > 2 {
		return ""
	}
	return last
}

// withoutTypeArgs drops the type arguments of a generic function's symbol:
// "[...]", or the instantiation the compiler names in a profile
// ("slices.SortFunc[go.shape.[]pkg/path.T,go.shape.struct { ... }]"), whose
// slashes, dots and spaces are not the function's.
func withoutTypeArgs(sym string) string {
	var b strings.Builder
	depth := 0
	for _, c := range sym {
		switch {
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// write prints the report: the share, the accounting, the heaviest edges
// that no longer match.
func (r *report) write(w io.Writer, profile string, m *module, cdf float64, top int) {
	fmt.Fprintf(w, "pgo-check: %s against module %s (%s)\n", profile, m.Path, m.Main)
	if r.hot == 0 {
		fmt.Fprintln(w, "no call edges: the compiler does no PGO with this profile")
		return
	}
	pct := func(v int64) float64 { return float64(v) / float64(r.hot) * 100 }
	fmt.Fprintf(w, "hot call sites (CDF %g%%): %d edges\n", cdf, len(r.findings))
	fmt.Fprintf(w, "  in the module: %.1f%% of the hot weight\n", pct(r.judged))
	fmt.Fprintf(w, "  elsewhere (std, deps): %.1f%%, inserted runtime calls: %.1f%% (not judged)\n",
		pct(r.outsideW), pct(r.implW))
	fmt.Fprintf(w, "match: %.1f%% of the module's hot weight still matches a call site\n", r.share())
	short := func(name string) string { return strings.TrimPrefix(name, m.Path+"/") }
	listed := 0
	for _, f := range r.findings {
		if f.verdict != moved && f.verdict != gone || listed >= top {
			continue
		}
		if listed == 0 {
			fmt.Fprintln(w, "hot edges that no longer match (heaviest first):")
		}
		listed++
		fmt.Fprintf(w, "  %5.2f%% %s -> %s at +%d", pct(f.Weight), short(f.Caller), short(f.Callee), f.Offset)
		if f.verdict == gone {
			fmt.Fprintln(w, ": the caller is not in the source")
			continue
		}
		rel, err := filepath.Rel(m.Dir, f.fn.File)
		if err != nil {
			rel = f.fn.File
		}
		callee := lastName(f.Callee)
		if callee == "" {
			callee = "a closure"
		}
		fmt.Fprintf(w, ": no call of %s at %s:%d (the function starts at line %d)\n",
			callee, rel, f.fn.StartLine+f.Offset, f.fn.StartLine)
	}
}
