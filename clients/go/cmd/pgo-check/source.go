package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// function is one function of the module's source, under the name the
// linker (and so the profile) gives it.
type function struct {
	Name      string
	File      string
	StartLine int // line of its func keyword: Function.start_line
	EndLine   int
	// calls: per line, the names of the functions called there (the last
	// identifier of each call expression); "" for a call of anything else
	calls map[int][]string
}

// module is the parsed Go source of one module.
type module struct {
	Path  string // module path
	Dir   string
	Main  string // import path of the main package checked
	funcs map[string]*function
	fset  *token.FileSet
}

// loadModule finds the module of the package in pkgDir and parses every
// non-test Go file of its packages (not vendor/, testdata/ or nested
// modules).
func loadModule(pkgDir string) (*module, error) {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return nil, err
	}
	root := abs
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return nil, fmt.Errorf("%s is not inside a Go module (no go.mod)", pkgDir)
		}
		root = parent
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	m := &module{Dir: root, funcs: map[string]*function{}, fset: token.NewFileSet()}
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			m.Path = strings.Trim(f[1], `"`)
		}
	}
	if m.Path == "" {
		return nil, errors.New(filepath.Join(root, "go.mod") + " has no module line")
	}
	m.Main = importPath(m.Path, root, abs)

	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "vendor" || name == "testdata" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				fileExists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		return m.parseFile(path)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// importPath of the package in dir, in the module at root.
func importPath(modPath, root, dir string) string {
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." {
		return modPath
	}
	return modPath + "/" + filepath.ToSlash(rel)
}

// parseFile adds the functions of one file, named as the linker names them:
// package main's as "main.", others by import path.
func (m *module) parseFile(path string) error {
	f, err := parser.ParseFile(m.fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return err
	}
	pkg := importPath(m.Path, m.Dir, filepath.Dir(path))
	if f.Name.Name == "main" {
		pkg = "main"
	}
	for _, decl := range f.Decls {
		fd, ok := decl.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		m.addFunc(pkg+"."+declName(fd), path, fd, fd.Body)
	}
	return nil
}

// declName is a declaration's symbol name without the package:
// F, T.M, (*T).M; type parameters print as [...].
func declName(fd *ast.FuncDecl) string {
	name := fd.Name.Name
	if fd.Type.TypeParams != nil {
		name += "[...]"
	}
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return name
	}
	t := fd.Recv.List[0].Type
	star := false
	if s, ok := t.(*ast.StarExpr); ok {
		star, t = true, s.X
	}
	recv := ""
	switch x := t.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.IndexExpr:
		recv = exprName(x.X) + "[...]"
	case *ast.IndexListExpr:
		recv = exprName(x.X) + "[...]"
	}
	if star {
		return "(*" + recv + ")." + name
	}
	return recv + "." + name
}

// addFunc records a function with its body, and its closures as name.funcN
// (nested ones as name.funcN.M), numbered in source order as the compiler
// numbers them.
func (m *module) addFunc(name, file string, node ast.Node, body *ast.BlockStmt) {
	fn := &function{
		Name:      name,
		File:      file,
		StartLine: m.fset.Position(node.Pos()).Line,
		EndLine:   m.fset.Position(node.End()).Line,
		calls:     map[int][]string{},
	}
	if _, dup := m.funcs[name]; !dup { // the first of per-platform variants
		m.funcs[name] = fn
	}
	closures := 0
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			closures++
			sub := name + ".func" + strconv.Itoa(closures)
			if strings.Contains(name, ".func") {
				sub = name + "." + strconv.Itoa(closures)
			}
			m.addFunc(sub, file, x, x.Body)
			return false // its calls are its own
		case *ast.CallExpr:
			line := m.fset.Position(x.Lparen).Line
			fn.calls[line] = append(fn.calls[line], exprName(x.Fun))
			// a call's position is its opening parenthesis's line
		}
		return true
	})
}

// exprName is the last identifier of a called expression: F, x.F, F[T].
func exprName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.IndexExpr:
		return exprName(x.X)
	case *ast.IndexListExpr:
		return exprName(x.X)
	case *ast.ParenExpr:
		return exprName(x.X)
	}
	return ""
}
