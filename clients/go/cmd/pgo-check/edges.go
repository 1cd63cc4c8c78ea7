package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// maxProfileBytes bounds what is read of a profile, file or URL.
const maxProfileBytes = 256 << 20

// preprofileHeader starts the serialized form the compiler reads
// (cmd/internal/pgo/serialize.go).
const preprofileHeader = "GO PREPROFILE V1\n"

// edge is one weighted call edge (cmd/internal/pgo NamedCallEdge).
type edge struct {
	Caller, Callee string
	Offset         int
	Weight         int64
}

// loadEdges reads the profile (file or URL) and returns its call edges in
// the compiler's order, heaviest first: parsed directly when it is in the
// serialized form, else through go tool preprofile.
func loadEdges(src, goCmd string) ([]edge, error) {
	data, err := readProfile(src)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil // an empty default.pgo: the compiler does no PGO
	}
	if !bytes.HasPrefix(data, []byte(preprofileHeader)) {
		if data, err = preprofile(data, goCmd); err != nil {
			return nil, err
		}
	}
	return parsePreprofile(data)
}

// readProfile returns the bytes of a file or of an http(s) URL.
func readProfile(src string) ([]byte, error) {
	var r io.Reader
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		client := &http.Client{Timeout: 60 * time.Second}
		resp, err := client.Get(src)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, nil // no profile for this tag: nothing to check
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", src, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src, err)
	}
	if len(data) > maxProfileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", src, maxProfileBytes)
	}
	return data, nil
}

// preprofile runs go tool preprofile on a pprof profile: the compiler's own
// reading of it, so the edges are exactly the ones go build uses.
func preprofile(data []byte, goCmd string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "pgo-check")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	in, out := filepath.Join(dir, "profile.pprof"), filepath.Join(dir, "profile.preprofile")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(goCmd, "tool", "preprofile", "-i", in, "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go tool preprofile: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return os.ReadFile(out)
}

// parsePreprofile reads the serialized form: the header, then per edge the
// caller, the callee and "offset weight" on lines of their own.
func parsePreprofile(data []byte) ([]edge, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	if !sc.Scan() || sc.Text()+"\n" != preprofileHeader {
		return nil, errors.New("not a GO PREPROFILE V1 file")
	}
	var edges []edge
	for sc.Scan() {
		var e edge
		e.Caller = sc.Text()
		if !sc.Scan() {
			return nil, fmt.Errorf("preprofile: edge %d has no callee", len(edges)+1)
		}
		e.Callee = sc.Text()
		if !sc.Scan() {
			return nil, fmt.Errorf("preprofile: edge %d has no weight", len(edges)+1)
		}
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			return nil, fmt.Errorf("preprofile: edge %d: want \"offset weight\", got %q", len(edges)+1, sc.Text())
		}
		var err1, err2 error
		e.Offset, err1 = strconv.Atoi(f[0])
		e.Weight, err2 = strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("preprofile: edge %d: bad numbers %q", len(edges)+1, sc.Text())
		}
		edges = append(edges, e)
	}
	return edges, sc.Err()
}

// hotEdges returns the edges the compiler treats as hot: heaviest first, up
// to and including the one at which the cumulative weight exceeds cdf
// percent of the total (cmd/compile/internal/inline hotNodesFromCDF).
func hotEdges(edges []edge, cdf float64) []edge {
	var total, cum int64
	for _, e := range edges {
		total += e.Weight
	}
	if total == 0 {
		return nil
	}
	for i, e := range edges {
		cum += e.Weight
		if float64(cum)/float64(total)*100 > cdf {
			return edges[:i+1]
		}
	}
	return edges
}
