// check.go: a minimal, stdlib-only reader of the pprof protobuf, just enough to
// print each fixture's sample types and sample count and to check that the
// fixtures are what the SQL tests expect (e.g. cpu_empty really has 0 samples).
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type summary struct {
	sampleTypes []string // "type/unit"
	samples     int      // Sample records (distinct stack+labels)
	total       int64    // sum of the first value over all samples
	labelled    int      // samples carrying at least one label
	labelKeys   []string
	labelPairs  map[string]bool // "key=value" of string labels, bytes as stored
	funcs       []string
	startLines  int // functions with start_line != 0
	buildIDs    []string
	mainFile    string // file name of the first mapping (the executable)
	gzipped     bool
	size        int64
}

var errTrunc = errors.New("truncated protobuf")

// field iterates over the top-level fields of a protobuf message.
func fields(b []byte, f func(num int, wire int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errTrunc
		}
		b = b[n:]
		num, wire := int(key>>3), int(key&7)
		switch wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errTrunc
			}
			b = b[n:]
			if err := f(num, wire, v, nil); err != nil {
				return err
			}
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errTrunc
			}
			data := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := f(num, wire, 0, data); err != nil {
				return err
			}
		case 1:
			if len(b) < 8 {
				return errTrunc
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return errTrunc
			}
			b = b[4:]
		default:
			return fmt.Errorf("unsupported wire type %d", wire)
		}
	}
	return nil
}

func readProfile(path string) ([]byte, bool, int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, false, 0, err
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, true, 0, err
		}
		zr.Multistream(false) // a second member would be a defect
		b, err := io.ReadAll(zr)
		if err != nil {
			return nil, true, 0, err
		}
		return b, true, int64(len(raw)), nil
	}
	return raw, false, int64(len(raw)), nil
}

func summarize(path string) (*summary, error) {
	b, gz, size, err := readProfile(path)
	if err != nil {
		return nil, err
	}
	s := &summary{gzipped: gz, size: size, labelPairs: map[string]bool{}}
	var strs []string
	var types [][2]uint64
	var funcNames, buildIDs []uint64
	var mainFile uint64
	nmap := 0
	labelKeys := map[uint64]bool{}
	labelPairs := map[[2]uint64]bool{}
	err = fields(b, func(num, wire int, v uint64, data []byte) error {
		switch num {
		case 1: // sample_type
			var t [2]uint64
			err := fields(data, func(n, _ int, v uint64, _ []byte) error {
				if n == 1 || n == 2 {
					t[n-1] = v
				}
				return nil
			})
			types = append(types, t)
			return err
		case 2: // sample
			s.samples++
			has, first := false, true
			err := fields(data, func(n, wire int, v uint64, d []byte) error {
				if n == 2 && first { // value: packed (wire 2) or not (wire 0)
					first = false
					if wire == 0 {
						s.total += int64(v)
					} else if x, k := binary.Uvarint(d); k > 0 {
						s.total += int64(x)
					}
				}
				if n == 3 {
					has = true
					var pair [2]uint64
					err := fields(d, func(n, _ int, v uint64, _ []byte) error {
						if n == 1 {
							labelKeys[v] = true
						}
						if n == 1 || n == 2 {
							pair[n-1] = v
						}
						return nil
					})
					if pair[1] != 0 {
						labelPairs[pair] = true
					}
					return err
				}
				return nil
			})
			if has {
				s.labelled++
			}
			return err
		case 3: // mapping
			nmap++
			return fields(data, func(n, _ int, v uint64, _ []byte) error {
				if n == 5 && nmap == 1 {
					mainFile = v
				}
				if n == 6 && v != 0 {
					buildIDs = append(buildIDs, v)
				}
				return nil
			})
		case 5: // function
			return fields(data, func(n, _ int, v uint64, _ []byte) error {
				switch n {
				case 2:
					funcNames = append(funcNames, v)
				case 5:
					if v != 0 {
						s.startLines++
					}
				}
				return nil
			})
		case 6: // string_table
			strs = append(strs, string(data))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	str := func(i uint64) string {
		if i < uint64(len(strs)) {
			return strs[i]
		}
		return fmt.Sprintf("?%d", i)
	}
	for _, t := range types {
		s.sampleTypes = append(s.sampleTypes, str(t[0])+"/"+str(t[1]))
	}
	for k := range labelKeys {
		s.labelKeys = append(s.labelKeys, str(k))
	}
	sort.Strings(s.labelKeys)
	for p := range labelPairs {
		s.labelPairs[str(p[0])+"="+str(p[1])] = true
	}
	for _, f := range funcNames {
		s.funcs = append(s.funcs, str(f))
	}
	s.mainFile = str(mainFile)
	for _, id := range buildIDs {
		s.buildIDs = append(s.buildIDs, str(id))
	}
	return s, nil
}

func (s *summary) has(fn string) bool {
	for _, f := range s.funcs {
		if f == fn {
			return true
		}
	}
	return false
}

// expectation for a fixture file.
type expect struct {
	types   string   // sample types joined by " "
	empty   bool     // must have 0 samples
	labels  []string // label keys that must be present
	pairs   []string // string labels "key=value" that must be present
	funcs   []string // function names that must be present
	noFuncs []string // function names that must be absent
}

var (
	cpuTypes  = "samples/count cpu/nanoseconds"
	mixFuncs  = []string{"main.hashLoop", "main.sortLoop", "main.jsonLoop", "main.fib", "main.buildStrings"}
	otherFunc = []string{"main.crcLoop", "main.matMul", "main.primeSieve", "main.flateLoop"}
)

var expectations = map[string]expect{
	"cpu.pb.gz":        {types: cpuTypes, funcs: mixFuncs},
	"cpu.pb":           {types: cpuTypes, funcs: mixFuncs},
	"cpu_labels.pb.gz": {types: cpuTypes, labels: []string{"mode", "worker"}, funcs: mixFuncs},
	"heap.pb.gz": {types: "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes",
		funcs: []string{"main.allocBuffers", "main.allocMaps", "main.allocStrings", "main.allocLarge", "main.allocGarbage"}},
	"goroutine.pb.gz":  {types: "goroutine/count", funcs: []string{"main.parked"}},
	"cpu_empty.pb.gz":  {types: cpuTypes, empty: true},
	"cpu_a1.pb.gz":     {types: cpuTypes, funcs: mixFuncs, noFuncs: otherFunc},
	"cpu_a2.pb.gz":     {types: cpuTypes, funcs: mixFuncs, noFuncs: otherFunc},
	"cpu_a3.pb.gz":     {types: cpuTypes, funcs: mixFuncs, noFuncs: otherFunc},
	"cpu_a_long.pb.gz": {types: cpuTypes, funcs: mixFuncs, noFuncs: otherFunc},
	"cpu_b1.pb.gz":     {types: cpuTypes, funcs: otherFunc, noFuncs: mixFuncs},
	"cpu_badutf8.pb.gz": {types: cpuTypes, labels: []string{"path"}, pairs: badPathLabels(),
		funcs: []string{"main.handleRequest", "main.hashLoop"}},
}

// badPathLabels: every request path of cpu_badutf8 must label some sample.
func badPathLabels() []string {
	var pairs []string
	for _, p := range badPaths {
		pairs = append(pairs, "path="+p.label)
	}
	return pairs
}

// check prints a summary line per fixture in dir and returns an error if any
// expected fixture is missing or not as expected.
func check(dir string) error {
	names := make([]string, 0, len(expectations))
	for n := range expectations {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, name := range names {
		e := expectations[name]
		path := filepath.Join(dir, name)
		s, err := summarize(path)
		if err != nil {
			bad("%v", err)
			continue
		}
		first := "?"
		if len(s.sampleTypes) > 0 {
			first = strings.SplitN(s.sampleTypes[0], "/", 2)[0]
		}
		fmt.Printf("%-17s %6d bytes  %4d samples (%s total %d)  [%s]", name, s.size, s.samples,
			first, s.total, strings.Join(s.sampleTypes, " "))
		if len(s.labelKeys) > 0 {
			fmt.Printf("  labels(%d samples): %s", s.labelled, strings.Join(s.labelKeys, ","))
		}
		if len(s.buildIDs) > 0 {
			fmt.Printf("  build_id %.16s", s.buildIDs[0])
		}
		fmt.Println()
		if got := strings.Join(s.sampleTypes, " "); got != e.types {
			bad("%s: sample types %q, want %q", name, got, e.types)
		}
		if e.empty != (s.samples == 0) {
			bad("%s: %d samples (want empty=%v)", name, s.samples, e.empty)
		}
		for _, k := range e.labels {
			found := false
			for _, got := range s.labelKeys {
				found = found || got == k
			}
			if !found {
				bad("%s: label key %q missing", name, k)
			}
		}
		for _, p := range e.pairs {
			if !s.labelPairs[p] {
				bad("%s: no sample has the label %q", name, p)
			}
		}
		for _, f := range e.funcs {
			if !s.has(f) {
				bad("%s: function %s missing", name, f)
			}
		}
		for _, f := range e.noFuncs {
			if s.has(f) {
				bad("%s: function %s unexpectedly present", name, f)
			}
		}
		if strings.HasPrefix(name, "cpu") && !e.empty && s.startLines == 0 {
			bad("%s: no Function.start_line != 0 (PGO would reject it)", name)
		}
		if s.size > 40<<10 {
			bad("%s: %d bytes, larger than 40 KiB", name, s.size)
		}
		if name == "cpu.pb" && s.gzipped {
			bad("cpu.pb is gzipped")
		}
	}
	// cpu.pb must be exactly cpu.pb.gz gunzipped.
	if a, _, _, err := readProfile(filepath.Join(dir, "cpu.pb.gz")); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "cpu.pb")); err == nil && !bytes.Equal(a, b) {
			bad("cpu.pb is not cpu.pb.gz gunzipped")
		}
	}
	// The b1 profile must come from a different binary than the a set.
	if a, err := summarize(filepath.Join(dir, "cpu_a1.pb.gz")); err == nil {
		if b, err := summarize(filepath.Join(dir, "cpu_b1.pb.gz")); err == nil {
			if a.mainFile == b.mainFile {
				bad("cpu_b1 and cpu_a1 have the same main mapping file %q", a.mainFile)
			}
			if len(a.buildIDs) > 0 && len(b.buildIDs) > 0 && a.buildIDs[0] == b.buildIDs[0] {
				bad("cpu_b1 and cpu_a1 have the same build ID")
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("fixture check failed:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}
