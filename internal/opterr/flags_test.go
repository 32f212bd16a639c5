package opterr

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// flagLike matches a command-line flag in a message: "--" and a letter.
var flagLike = regexp.MustCompile(`(^|[^-\w])--[a-zA-Z]`)

// notLibraries are the folders (from the module root) whose errors may name
// flags: the CLI itself, and what is not Go library code.
var notLibraries = []string{"cmd", "bench", "scripts", "docs", "runs", "bin"}

// flaggedErrors returns "file:line: message" for each error message in src
// that names a flag: the string literals in the arguments of errors.New and
// fmt.Errorf, and in the body of every Error() string method.
func flaggedErrors(fset *token.FileSet, f *ast.File) []string {
	var out []string
	literals := func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && flagLike.MatchString(s) {
				out = append(out, fset.Position(lit.Pos()).String()+": "+s)
			}
			return true
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if (pkg.Name == "errors" && sel.Sel.Name == "New") || (pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
				for _, a := range n.Args {
					literals(a)
				}
				return false
			}
		case *ast.FuncDecl:
			if n.Recv != nil && n.Name.Name == "Error" && n.Body != nil {
				literals(n.Body)
				return false
			}
		}
		return true
	})
	return out
}

// flaggedStrings returns "file:line: text" for every string literal in src
// that names a flag, errors or not (warnings, advice, descriptions), except
// the arguments a library passes to another program: the arguments of
// exec.Command and exec.CommandContext, of append, and the elements of a
// []string literal.
func flaggedStrings(fset *token.FileSet, f *ast.File) []string {
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "append" {
				return false
			}
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "exec" && strings.HasPrefix(sel.Sel.Name, "Command") {
					return false
				}
			}
		case *ast.CompositeLit:
			if at, ok := n.Type.(*ast.ArrayType); ok {
				if id, ok := at.Elt.(*ast.Ident); ok && id.Name == "string" {
					return false
				}
			}
		case *ast.Field:
			return n.Tag == nil // struct tags are no messages
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err == nil && flagLike.MatchString(s) {
				out = append(out, fset.Position(n.Pos()).String()+": "+s)
			}
		}
		return true
	})
	return out
}

func TestFlaggedStringsFinds(t *testing.T) {
	src := `package p
import ("fmt"; "os/exec")
func warn(string) {}
func f() {
	warn(fmt.Sprintf("the discriminator wins. Try --spectral-norm"))
	_ = "none (give --gallery)"
	exec.Command("node", "--version")
	args := []string{"--n", "3"}
	args = append(args, "--misalign")
	_ = "a -- b, x--y"
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := flaggedStrings(fset, f)
	if len(got) != 2 || !strings.HasPrefix(got[0], "p.go:5:") || !strings.HasPrefix(got[1], "p.go:6:") {
		t.Fatalf("found %q, want the strings on lines 5 and 6", got)
	}
}

func TestFlaggedErrorsFinds(t *testing.T) {
	src := `package p
import ("errors"; "fmt")
type E struct{}
func (E) Error() string { return "use --size 64" }
var a = errors.New("--steps must be ≥ 0")
var b = fmt.Errorf("unknown loss %q (use --loss bce)", "x")
var c = errors.New("steps must be ≥ 0: a-b -- c")
var d = fmt.Sprintf("--fine in advice")
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := flaggedErrors(fset, f)
	if len(got) != 3 {
		t.Fatalf("found %d flagged messages, want 3 (lines 4, 5, 6): %q", len(got), got)
	}
	for i, line := range []string{"p.go:4:", "p.go:5:", "p.go:6:"} {
		if !strings.HasPrefix(got[i], line) {
			t.Errorf("finding %d is %q, want it on %s", i, got[i], line)
		}
	}
}

// TestLibraryErrorsNameNoFlag: library packages return typed or sentinel
// errors, and typed warnings or fields for advice, and leave the flags to
// cmd/forger.
func TestLibraryErrorsNameNoFlag(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var bad, advice []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			for _, x := range notLibraries {
				if rel == x {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		bad = append(bad, flaggedErrors(fset, f)...)
		advice = append(advice, flaggedStrings(fset, f)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read only %d library files: is the module root %s?", files, root)
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Errorf("a library error names a flag (return an *opterr.Error or a sentinel, and word it in cmd/forger): %s", strings.TrimPrefix(b, root+"/"))
	}
	sort.Strings(advice)
	for _, b := range advice {
		if !slices.Contains(bad, b) {
			t.Errorf("a library string names a flag (return a typed warning or field, and word it in cmd/forger): %s", strings.TrimPrefix(b, root+"/"))
		}
	}
}
