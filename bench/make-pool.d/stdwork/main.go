// Command stdwork is a CPU-bound "monolith" for bench/make-pool: until it has used a given
// CPU time it runs, on several goroutines, real work of the Go standard library
// over the standard library's own sources (type-checking packages with
// go/types from source, formatting them with go/format, compressing them,
// searching them with regexp, JSON and template round trips, hashing, HTTP
// round trips over loopback), and writes a runtime/pprof CPU profile of
// itself. Production services are large programs with many code paths; the
// Go toolchain's own profiles of one compile or one test are too small
// (30-140 KB gzip) to stand for them, this one's size is set by -cpu-seconds
// and -packages. Different -seed values choose the packages and the order of the
// tasks, so every run gives a distinct profile.
package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"hash/crc32"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// packages whose sources the tasks work on: large, with many dependencies
var packages = []string{
	"net/http", "go/types", "encoding/json", "compress/flate", "regexp",
	"text/template", "crypto/tls", "database/sql", "image/png", "archive/zip",
	"math/big", "strconv", "os/exec", "encoding/xml", "net/mail", "html/template",
	"go/printer", "debug/elf", "crypto/x509", "net/url", "fmt", "bufio",
	"runtime/pprof", "testing", "flag", "log/slog", "mime/multipart",
}

type source struct {
	pkg   string
	files map[string][]byte
}

func main() {
	out := flag.String("cpuprofile", "", "write the CPU profile here (required)")
	cpuSeconds := flag.Float64("cpu-seconds", 30, "stop after this much CPU time (user+sys of the process), so the profile's size does not depend on the machine's load")
	npkgs := flag.Int("packages", 16, "how many of the packages to work on")
	workers := flag.Int("workers", 2, "goroutines doing work")
	seed := flag.Int64("seed", 1, "chooses packages and task order")
	flag.Parse()
	if *out == "" {
		log.Fatal("stdwork: -cpuprofile is required")
	}

	rng := rand.New(rand.NewSource(*seed))
	pkgs := append([]string(nil), packages...)
	rng.Shuffle(len(pkgs), func(i, j int) { pkgs[i], pkgs[j] = pkgs[j], pkgs[i] })
	var srcs []source
	if *npkgs < 1 || *npkgs > len(pkgs) {
		log.Fatalf("stdwork: -packages must be 1..%d", len(pkgs))
	}
	for _, p := range pkgs[:*npkgs] {
		srcs = append(srcs, readPackage(p))
	}

	srv := httptest.NewServer(http.HandlerFunc(echo))
	defer srv.Close()

	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	budget := time.Duration(*cpuSeconds * float64(time.Second))
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(r *rand.Rand) {
			defer wg.Done()
			for cpuTime() < budget {
				s := srcs[r.Intn(len(srcs))]
				tasks[r.Intn(len(tasks))](s, srv.URL, r)
			}
		}(rand.New(rand.NewSource(*seed*1000 + int64(w))))
	}
	wg.Wait()
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func readPackage(path string) source {
	bp, err := build.Default.Import(path, "", 0)
	if err != nil {
		log.Fatal(err)
	}
	s := source{pkg: path, files: map[string][]byte{}}
	for _, name := range append(bp.GoFiles, bp.TestGoFiles...) {
		b, err := os.ReadFile(filepath.Join(bp.Dir, name))
		if err != nil {
			log.Fatal(err)
		}
		s.files[name] = b
	}
	return s
}

func names(s source) []string {
	var n []string
	for k := range s.files {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

var tasks = []func(s source, url string, r *rand.Rand){
	typecheck, reformat, compress, search, jsonTrip, templ, hashes, httpTrip,
}

// typecheck type-checks the package from source with a fresh importer, so
// its dependencies are parsed and checked again (deep, recursive stacks)
func typecheck(s source, _ string, _ *rand.Rand) {
	fset := token.NewFileSet()
	bp, err := build.Default.Import(s.pkg, "", 0)
	if err != nil {
		log.Fatal(err)
	}
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(bp.Dir, name), s.files[name], parser.ParseComments)
		if err != nil {
			log.Fatal(err)
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.ForCompiler(fset, "source", nil), Error: func(error) {}}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Defs: map[*ast.Ident]types.Object{}, Uses: map[*ast.Ident]types.Object{}}
	conf.Check(s.pkg, fset, files, info)
}

func reformat(s source, _ string, _ *rand.Rand) {
	for _, n := range names(s) {
		if _, err := format.Source(s.files[n]); err != nil {
			log.Fatal(err)
		}
	}
}

func compress(s source, _ string, r *rand.Rand) {
	level := 1 + r.Intn(9)
	for _, n := range names(s) {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, level)
		w.Write(s.files[n])
		w.Close()
		zr := flate.NewReader(&b)
		io.Copy(io.Discard, zr)
		var g bytes.Buffer
		gw := gzip.NewWriter(&g)
		gw.Write(s.files[n])
		gw.Close()
	}
}

var patterns = []*regexp.Regexp{
	regexp.MustCompile(`func \(([a-z]+) \*?([A-Z][A-Za-z0-9]*)\) ([A-Za-z]+)\(`),
	regexp.MustCompile(`(?m)^\s*//.*\b(TODO|BUG|NOTE)\b.*$`),
	regexp.MustCompile(`"[^"\\]*(?:\\.[^"\\]*)*"`),
	regexp.MustCompile(`\b0x[0-9a-fA-F]+\b|\b[0-9]+\.[0-9]*(e[+-]?[0-9]+)?`),
}

func search(s source, _ string, r *rand.Rand) {
	re := patterns[r.Intn(len(patterns))]
	for _, n := range names(s) {
		re.FindAllSubmatchIndex(s.files[n], -1)
	}
}

type fileStat struct {
	Name   string         `json:"name"`
	Bytes  int            `json:"bytes"`
	Lines  int            `json:"lines"`
	Words  map[string]int `json:"words"`
	Idents []string       `json:"idents"`
}

func stats(s source) []fileStat {
	var st []fileStat
	for _, n := range names(s) {
		b := s.files[n]
		fs := fileStat{Name: n, Bytes: len(b), Lines: bytes.Count(b, []byte("\n")), Words: map[string]int{}}
		for _, w := range strings.Fields(string(b)) {
			if len(w) > 3 && len(w) < 12 {
				fs.Words[w]++
			}
		}
		for w := range fs.Words {
			if len(fs.Idents) < 200 {
				fs.Idents = append(fs.Idents, w)
			}
		}
		st = append(st, fs)
	}
	return st
}

func jsonTrip(s source, _ string, _ *rand.Rand) {
	b, err := json.Marshal(stats(s))
	if err != nil {
		log.Fatal(err)
	}
	var back []fileStat
	if err := json.Unmarshal(b, &back); err != nil {
		log.Fatal(err)
	}
}

var report = template.Must(template.New("r").Parse(
	`{{range .}}{{.Name}}: {{.Lines}} lines, {{.Bytes}} bytes{{range $w, $n := .Words}}{{if gt $n 20}} {{$w}}={{$n}}{{end}}{{end}}
{{end}}`))

func templ(s source, _ string, _ *rand.Rand) {
	report.Execute(io.Discard, stats(s))
}

func hashes(s source, _ string, _ *rand.Rand) {
	for _, n := range names(s) {
		sha256.Sum256(s.files[n])
		crc32.ChecksumIEEE(s.files[n])
	}
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}

func httpTrip(s source, url string, _ *rand.Rand) {
	for _, n := range names(s) {
		resp, err := http.Post(url+"/"+n, "text/plain", bytes.NewReader(s.files[n]))
		if err != nil {
			log.Fatal(fmt.Errorf("stdwork: %w", err))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
