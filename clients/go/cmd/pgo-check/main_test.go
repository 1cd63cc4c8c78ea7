package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// runCheck runs pgo-check with args; returns its exit status and output.
func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	t.Logf("pgo-check %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	return code, out.String() + errOut.String()
}

func TestFreshProfileMatches(t *testing.T) {
	code, out := runCheck(t, "-profile", "testdata/hot.preprofile", "testdata/hot")
	if code != exitOK {
		t.Fatalf("exit %d, want %d", code, exitOK)
	}
	for _, want := range []string{
		"hot call sites (CDF 99%): 8 edges",
		"in the module: 95.0% of the hot weight",
		"elsewhere (std, deps): 1.0%, inserted runtime calls: 4.0%",
		"match: 100.0%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "no longer match") {
		t.Error("a fresh profile lists edges that do not match")
	}
}

// Lines inserted at the top of a hot function move its call sites: the
// edges of that function stop matching, the others still do.
func TestInsertedLinesDropTheMatch(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/hot", dir)
	main := filepath.Join(dir, "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "func work(s *lib.Set[int], i int) {\n",
		"func work(s *lib.Set[int], i int) {\n\t// two lines\n\t// added\n", 1)
	if err := os.WriteFile(main, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runCheck(t, "-profile", "testdata/hot.preprofile", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want %d", code, exitFail)
	}
	// 20 (closure) + 10 (main) + 8 (lib) of 95 still match
	if !strings.Contains(out, "match: 40.0%") {
		t.Error("want a 40.0% match")
	}
	for _, want := range []string{
		"main.work -> lib.(*Set[...]).Add at +1: no call of Add at main.go:20 (the function starts at line 19)",
		"main.work -> main.work.func1 at +5: no call of a closure at main.go:24",
		"main.work -> fmt.Sprint at +6",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "main.main -> ") || strings.Contains(out, "func1 -> ") {
		t.Error("edges of functions left alone are listed")
	}
	// thresholds are the caller's
	if code, _ := runCheck(t, "-profile", "testdata/hot.preprofile", "-fail", "30", dir); code != exitWarning {
		t.Errorf("-fail 30: exit %d, want %d", code, exitWarning)
	}
	if code, _ := runCheck(t, "-profile", "testdata/hot.preprofile", "-fail", "30", "-warn", "40", dir); code != exitOK {
		t.Errorf("-fail 30 -warn 40: exit %d, want %d", code, exitOK)
	}
}

func TestRemovedFunction(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/hot", dir)
	lib := filepath.Join(dir, "lib", "lib.go")
	src, _ := os.ReadFile(lib)
	edited := strings.Replace(string(src), "func grow(n int) int { return n * 2 }", "func grow2(n int) int { return n * 2 }", 1)
	edited = strings.Replace(edited, "grow(len(s.m))", "grow2(len(s.m))", 1)
	if err := os.WriteFile(lib, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out := runCheck(t, "-profile", "testdata/hot.preprofile", dir)
	if !strings.Contains(out, "lib.(*Set[...]).Add -> lib.grow at +2: no call of grow at lib/lib.go:15") {
		t.Error("a renamed callee is not reported")
	}
}

func TestProfileFromURL(t *testing.T) {
	body, err := os.ReadFile("testdata/hot.preprofile")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/profile/hot":
			w.Write(body)
		default:
			http.Error(w, `{"error":"unknown tag"}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	if code, out := runCheck(t, "-profile", srv.URL+"/profile/hot", "testdata/hot"); code != exitOK || !strings.Contains(out, "match: 100.0%") {
		t.Errorf("from a URL: exit %d", code)
	}
	// no profile for the tag: nothing to check, not a failure
	if code, out := runCheck(t, "-profile", srv.URL+"/profile/none", "testdata/hot"); code != exitOK || !strings.Contains(out, "no call edges") {
		t.Errorf("unknown tag: exit %d", code)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.preprofile")
	os.WriteFile(bad, []byte("GO PREPROFILE V1\nmain.f\nmain.g\nx 1\n"), 0o644)
	if code, out := runCheck(t, "-profile", bad, "testdata/hot"); code != exitError || !strings.Contains(out, "bad numbers") {
		t.Errorf("bad numbers: exit %d", code)
	}
	if code, _ := runCheck(t, "-profile", "testdata/hot.preprofile", "-cdf", "101", "testdata/hot"); code != exitError {
		t.Errorf("-cdf 101: exit %d", code)
	}
	if code, out := runCheck(t, "-profile", "testdata/hot.preprofile", dir); code != exitError || !strings.Contains(out, "not inside a Go module") {
		t.Errorf("no module: exit %d", code)
	}
}

func TestNames(t *testing.T) {
	for sym, want := range map[string]string{
		"example.com/a/b.(*T).M":        "M",
		"example.com/a/b.T.M":           "M",
		"main.F":                        "F",
		"example.com/a.(*Set[...]).Add": "Add",
		"example.com/a.Map[...]":        "Map",
		"slices.SortFunc[go.shape.[]example.com/a.T,go.shape.struct { example.com/a.x []uint64 }]": "SortFunc",
		"example.com/a.(*Set[go.shape.int]).Add":                                                   "Add",
		"main.work.func1":                                                                          "",
		"main.work.func1.2":                                                                        "",
		"main.work.deferwrap1":                                                                     "",
		"main.work.gowrap2":                                                                        "",
	} {
		if got := lastName(sym); got != want {
			t.Errorf("lastName(%q) = %q, want %q", sym, got, want)
		}
	}
}
