package pickle

import (
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pickles in testdata are made by scripts/interop/pickle_fixtures.py.
func TestValues(t *testing.T) {
	for _, proto := range []string{"2", "4", "5"} {
		b, err := os.ReadFile(filepath.Join("testdata", "values_p"+proto+".pkl"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := Unpickle(b)
		if err != nil {
			t.Fatalf("protocol %s: %v", proto, err)
		}
		d, ok := v.(*Dict)
		if !ok {
			t.Fatalf("protocol %s: %s", proto, TypeName(v))
		}
		get := func(k string) any { x, _ := d.Get(k); return x }
		if get("int") != int64(7) || get("neg") != int64(-300) || get("float") != 0.25 || get("str") != "héllo" || get("none") != nil || get("true") != true {
			t.Errorf("protocol %s: scalars %v %v %v %v %v %v", proto, get("int"), get("neg"), get("float"), get("str"), get("none"), get("true"))
		}
		want := new(big.Int).Lsh(big.NewInt(1), 70)
		if b, ok := get("big").(*big.Int); !ok || b.Cmp(want) != 0 {
			t.Errorf("protocol %s: big %v", proto, get("big"))
		}
		if l, ok := get("list").(*List); !ok || len(l.Items) != 3 {
			t.Errorf("protocol %s: list %v", proto, get("list"))
		}
		if tu, ok := get("tuple").(Tuple); !ok || len(tu) != 2 || tu[1] != "a" {
			t.Errorf("protocol %s: tuple %v", proto, get("tuple"))
		}
		if od, ok := get("od").(*Dict); !ok || od.Len() != 2 || od.Keys[0] != "b" {
			t.Errorf("protocol %s: OrderedDict %v", proto, get("od"))
		}
		if s, ok := get("set").(*Set); !ok || len(s.Items) != 1 {
			t.Errorf("protocol %s: set %v", proto, get("set"))
		}
	}
}

func TestMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":         nil,
		"no stop":       {0x80, 2, 'K', 1},
		"underflow":     {0x80, 2, 't', '.'},
		"long string":   {0x80, 2, 'X', 0xff, 0xff, 0xff, 0x7f, 'a', '.'},
		"bytes8":        {0x80, 4, 0x8e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '.'},
		"memo":          {0x80, 2, 'h', 9, '.'},
		"proto 9":       {0x80, 9, '.'},
		"persistent":    {0x80, 2, 'K', 1, 'Q', '.'},
		"odd setitems":  {0x80, 2, '}', '(', 'K', 1, 'u', '.'},
		"unknown op":    {0x80, 2, 0xff, '.'},
		"reduce of int": {0x80, 2, 'K', 1, ')', 'R', '.'},
	} {
		_, err := Unpickle(b)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzUnpickle: any bytes give a value or an error, never a panic.
//
//	go test ./interop/pickle -run '^$' -fuzz '^FuzzUnpickle$' -fuzztime 10m -parallel 1
func FuzzUnpickle(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.pkl"))
	more, _ := filepath.Glob(filepath.Join("..", "torch", "testdata", "plain", "*.pkl"))
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := Machine{Limits: Limits{MaxStack: 1 << 16, MaxMemo: 1 << 16}}
		m.PersistentLoad = func(pid any) (any, error) { return pid, nil }
		m.Load(data)
	})
}
