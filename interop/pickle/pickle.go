// Package pickle reads Python pickles (protocols 2–5, and the protocol-0/1
// opcodes they share: the binary opcodes
// that torch.save and pickle.dump emit) into plain Go values, without
// running any Python: classes and functions are never called, they are
// looked up by name in hooks the caller gives (Machine.Call,
// Machine.PersistentLoad), and anything the caller does not know stays an
// inert *Object that records what the pickle asked for.
//
// It is written for untrusted files: every length is checked against the
// bytes that remain before anything is allocated, the stack, the memo and
// the number of marks are bounded, and a malformed pickle is an error, never
// a panic (FuzzUnpickle).
//
// Values: None is nil; bool, int64 (*big.Int when it does not fit), float64,
// string, []byte, *List, *Tuple, *Dict, *Set, *Global (a class or function
// named by module and name), *Object (a call of a global, or an instance
// built by NEWOBJ/BUILD), and whatever the hooks return.
package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// List is a Python list.
type List struct{ Items []any }

// Tuple is a Python tuple.
type Tuple []any

// Set is a Python set or frozenset.
type Set struct{ Items []any }

// Dict is a Python dict (or OrderedDict), in insertion order. Keys may be any
// value; Get finds string keys.
type Dict struct {
	Keys, Values []any
	index        map[string]int // string keys only
	// Attrs holds attributes set by BUILD (e.g. an OrderedDict's
	// _metadata): kept, not interpreted.
	Attrs any
}

// Set sets key to value, replacing an earlier string key.
func (d *Dict) Set(key, value any) {
	if s, ok := key.(string); ok {
		if d.index == nil {
			d.index = map[string]int{}
		}
		if i, ok := d.index[s]; ok {
			d.Values[i] = value
			return
		}
		d.index[s] = len(d.Keys)
	}
	d.Keys = append(d.Keys, key)
	d.Values = append(d.Values, value)
}

// Get returns the value of a string key.
func (d *Dict) Get(key string) (any, bool) {
	i, ok := d.index[key]
	if !ok {
		return nil, false
	}
	return d.Values[i], true
}

// Len is the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Global is a reference to a Python class or function: module.name.
type Global struct{ Module, Name string }

func (g *Global) String() string { return g.Module + "." + g.Name }

// Object is what a pickle builds by calling something the reader does not
// interpret: Callable (usually a *Global) called with Args (REDUCE, NEWOBJ),
// then State (BUILD), ListItems (APPEND/APPENDS) and DictItems (SETITEM/S).
type Object struct {
	Callable  any
	Args      Tuple
	Kwargs    *Dict // NEWOBJ_EX
	State     any
	ListItems []any
	DictItems *Dict
}

// ClassName is the callable's dotted name, or "" when it is not a *Global.
func (o *Object) ClassName() string {
	if g, ok := o.Callable.(*Global); ok {
		return g.String()
	}
	return ""
}

// Limits bound what a pickle may make the reader hold. Zero fields take the
// defaults.
type Limits struct {
	MaxStack int // values on the stack (default 1<<20)
	MaxMemo  int // memo entries (default 1<<20)
	MaxMarks int // open marks (default 1<<16)
}

// Machine unpickles one pickle. Set the hooks before Load.
type Machine struct {
	// Call, if set, is asked first for every REDUCE and NEWOBJ: it returns
	// the value of callable(args...) and true, or false to leave the call as
	// an *Object. collections.OrderedDict and builtins such as set, list and
	// dict are interpreted by the machine itself when Call declines.
	Call func(callable any, args Tuple) (any, bool, error)
	// PersistentLoad resolves PERSID and BINPERSID; without it a persistent
	// id is an error.
	PersistentLoad func(pid any) (any, error)
	Limits         Limits

	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[int]any
}

// Unpickle reads one pickle from data with no hooks.
func Unpickle(data []byte) (any, error) {
	var m Machine
	v, _, err := m.Load(data)
	return v, err
}

// Error is a malformed or unsupported pickle.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("pickle: at byte %d: %s", e.Pos, e.Msg) }

// ErrTruncated is wrapped when the pickle ends before STOP.
var ErrTruncated = errors.New("pickle ends early")

func (m *Machine) fail(format string, args ...any) error {
	return &Error{Pos: m.pos, Msg: fmt.Sprintf(format, args...)}
}

// Load reads one pickle from the start of data and returns its value and the
// number of bytes it took (several pickles may follow one another, as in
// torch's legacy format).
func (m *Machine) Load(data []byte) (any, int, error) {
	m.data, m.pos, m.stack, m.marks, m.memo = data, 0, nil, nil, map[int]any{}
	if m.Limits.MaxStack == 0 {
		m.Limits.MaxStack = 1 << 20
	}
	if m.Limits.MaxMemo == 0 {
		m.Limits.MaxMemo = 1 << 20
	}
	if m.Limits.MaxMarks == 0 {
		m.Limits.MaxMarks = 1 << 16
	}
	for {
		if m.pos >= len(m.data) {
			return nil, m.pos, fmt.Errorf("pickle: %w (no STOP after %d bytes)", ErrTruncated, m.pos)
		}
		op := m.data[m.pos]
		m.pos++
		if op == '.' { // STOP
			v, err := m.pop()
			if err != nil {
				return nil, m.pos, err
			}
			return v, m.pos, nil
		}
		if err := m.step(op); err != nil {
			return nil, m.pos, err
		}
	}
}

func (m *Machine) take(n int) ([]byte, error) {
	if n < 0 || n > len(m.data)-m.pos {
		return nil, fmt.Errorf("pickle: at byte %d: %w (%d bytes wanted, %d left)", m.pos, ErrTruncated, n, len(m.data)-m.pos)
	}
	b := m.data[m.pos : m.pos+n]
	m.pos += n
	return b, nil
}

func (m *Machine) u8() (int, error) {
	b, err := m.take(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (m *Machine) u32() (int, error) {
	b, err := m.take(4)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint32(b)), nil
}

func (m *Machine) u64() (int, error) {
	b, err := m.take(8)
	if err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b)
	if v > uint64(len(m.data)) {
		return 0, fmt.Errorf("pickle: at byte %d: %w (%d bytes wanted, %d left)", m.pos, ErrTruncated, v, len(m.data)-m.pos)
	}
	return int(v), nil
}

// line reads up to a newline (protocol 0 arguments).
func (m *Machine) line() (string, error) {
	i := bytes.IndexByte(m.data[m.pos:min(len(m.data), m.pos+1<<16)], '\n')
	if i < 0 {
		return "", m.fail("%v: no end of line", ErrTruncated)
	}
	s := string(m.data[m.pos : m.pos+i])
	m.pos += i + 1
	return s, nil
}

func (m *Machine) push(v any) error {
	if len(m.stack) >= m.Limits.MaxStack {
		return m.fail("stack over %d values", m.Limits.MaxStack)
	}
	m.stack = append(m.stack, v)
	return nil
}

func (m *Machine) pop() (any, error) {
	base := 0
	if len(m.marks) > 0 {
		base = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= base {
		return nil, m.fail("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *Machine) top() (any, error) {
	base := 0
	if len(m.marks) > 0 {
		base = m.marks[len(m.marks)-1]
	}
	if len(m.stack) <= base {
		return nil, m.fail("stack underflow")
	}
	return m.stack[len(m.stack)-1], nil
}

// popMark pops everything above the last mark, and the mark.
func (m *Machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, m.fail("no mark")
	}
	k := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[k:]...)
	m.stack = m.stack[:k]
	return items, nil
}

func (m *Machine) memoPut(i int, v any) error {
	if _, ok := m.memo[i]; !ok && len(m.memo) >= m.Limits.MaxMemo {
		return m.fail("memo over %d entries", m.Limits.MaxMemo)
	}
	m.memo[i] = v
	return nil
}

func (m *Machine) memoGet(i int) error {
	v, ok := m.memo[i]
	if !ok {
		return m.fail("memo %d not set", i)
	}
	return m.push(v)
}

func (m *Machine) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		v, err := m.u8()
		if err != nil {
			return err
		}
		if v > 5 {
			return m.fail("pickle protocol %d is not supported (0 to 5)", v)
		}
		return nil
	case 0x95: // FRAME: a length hint only
		_, err := m.take(8)
		return err
	case '(': // MARK
		if len(m.marks) >= m.Limits.MaxMarks {
			return m.fail("over %d marks", m.Limits.MaxMarks)
		}
		m.marks = append(m.marks, len(m.stack))
		return nil
	case '0': // POP
		if len(m.marks) > 0 && m.marks[len(m.marks)-1] == len(m.stack) {
			_, err := m.popMark() // nothing above the mark: CPython pops the mark
			return err
		}
		_, err := m.pop()
		return err
	case '1': // POP_MARK
		_, err := m.popMark()
		return err
	case '2': // DUP
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.push(v)
	case 'N':
		return m.push(nil)
	case 0x88: // NEWTRUE
		return m.push(true)
	case 0x89: // NEWFALSE
		return m.push(false)
	case 'J': // BININT
		b, err := m.take(4)
		if err != nil {
			return err
		}
		return m.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case 'K': // BININT1
		v, err := m.u8()
		if err != nil {
			return err
		}
		return m.push(int64(v))
	case 'M': // BININT2
		b, err := m.take(2)
		if err != nil {
			return err
		}
		return m.push(int64(binary.LittleEndian.Uint16(b)))
	case 0x8a, 0x8b: // LONG1, LONG4
		var n int
		var err error
		if op == 0x8a {
			n, err = m.u8()
		} else {
			n, err = m.u32()
		}
		if err != nil {
			return err
		}
		b, err := m.take(n)
		if err != nil {
			return err
		}
		return m.push(decodeLong(b))
	case 'I': // INT (protocol 0), also True/False as I01/I00
		s, err := m.line()
		if err != nil {
			return err
		}
		switch s {
		case "01":
			return m.push(true)
		case "00":
			return m.push(false)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return m.fail("bad INT %q", s)
		}
		return m.push(v)
	case 'L': // LONG (protocol 0)
		s, err := m.line()
		if err != nil {
			return err
		}
		s = strings.TrimSuffix(s, "L")
		if len(s) > 4096 {
			return m.fail("LONG of %d digits", len(s))
		}
		v, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return m.fail("bad LONG %q", s)
		}
		return m.push(normLong(v))
	case 'G': // BINFLOAT
		b, err := m.take(8)
		if err != nil {
			return err
		}
		return m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'F': // FLOAT (protocol 0)
		s, err := m.line()
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return m.fail("bad FLOAT %q", s)
		}
		return m.push(v)
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		var n int
		var err error
		switch op {
		case 'X':
			n, err = m.u32()
		case 0x8c:
			n, err = m.u8()
		default:
			n, err = m.u64()
		}
		if err != nil {
			return err
		}
		b, err := m.take(n)
		if err != nil {
			return err
		}
		return m.push(string(b))
	case 'T', 'U': // BINSTRING, SHORT_BINSTRING (Python 2 str): as text
		var n int
		var err error
		if op == 'T' {
			n, err = m.u32()
		} else {
			n, err = m.u8()
		}
		if err != nil {
			return err
		}
		b, err := m.take(n)
		if err != nil {
			return err
		}
		return m.push(string(b))
	case 'B', 'C', 0x8e, 0x96: // BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8
		var n int
		var err error
		switch op {
		case 'B':
			n, err = m.u32()
		case 'C':
			n, err = m.u8()
		default:
			n, err = m.u64()
		}
		if err != nil {
			return err
		}
		b, err := m.take(n)
		if err != nil {
			return err
		}
		return m.push(b) // a view of the input: callers copy what they keep
	case ']': // EMPTY_LIST
		return m.push(&List{})
	case '}': // EMPTY_DICT
		return m.push(&Dict{})
	case ')': // EMPTY_TUPLE
		return m.push(Tuple{})
	case 0x8f: // EMPTY_SET
		return m.push(&Set{})
	case 't': // TUPLE
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(Tuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		n := int(op-0x85) + 1
		items := make(Tuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := m.pop()
			if err != nil {
				return err
			}
			items[i] = v
		}
		return m.push(items)
	case 'l': // LIST
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(&List{Items: items})
	case 'd': // DICT
		items, err := m.popMark()
		if err != nil {
			return err
		}
		d := &Dict{}
		if err := m.setItems(d, items); err != nil {
			return err
		}
		return m.push(d)
	case 0x91: // FROZENSET
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.push(&Set{Items: items})
	case 'a': // APPEND
		v, err := m.pop()
		if err != nil {
			return err
		}
		return m.appendTo([]any{v})
	case 'e': // APPENDS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.appendTo(items)
	case 0x90: // ADDITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		s, ok := t.(*Set)
		if !ok {
			return m.fail("ADDITEMS to %s", typeName(t))
		}
		s.Items = append(s.Items, items...)
		return nil
	case 's': // SETITEM
		v, err := m.pop()
		if err != nil {
			return err
		}
		k, err := m.pop()
		if err != nil {
			return err
		}
		return m.setItemsTop([]any{k, v})
	case 'u': // SETITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.setItemsTop(items)
	case 'q': // BINPUT
		i, err := m.u8()
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(i, v)
	case 'r': // LONG_BINPUT
		i, err := m.u32()
		if err != nil {
			return err
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(i, v)
	case 0x94: // MEMOIZE
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(len(m.memo), v)
	case 'p': // PUT (protocol 0)
		s, err := m.line()
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 {
			return m.fail("bad PUT %q", s)
		}
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.memoPut(i, v)
	case 'h': // BINGET
		i, err := m.u8()
		if err != nil {
			return err
		}
		return m.memoGet(i)
	case 'j': // LONG_BINGET
		i, err := m.u32()
		if err != nil {
			return err
		}
		return m.memoGet(i)
	case 'g': // GET (protocol 0)
		s, err := m.line()
		if err != nil {
			return err
		}
		i, err := strconv.Atoi(s)
		if err != nil {
			return m.fail("bad GET %q", s)
		}
		return m.memoGet(i)
	case 'c': // GLOBAL
		mod, err := m.line()
		if err != nil {
			return err
		}
		name, err := m.line()
		if err != nil {
			return err
		}
		return m.push(&Global{Module: mod, Name: name})
	case 0x93: // STACK_GLOBAL
		name, err := m.pop()
		if err != nil {
			return err
		}
		mod, err := m.pop()
		if err != nil {
			return err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return m.fail("STACK_GLOBAL of %s and %s", typeName(mod), typeName(name))
		}
		return m.push(&Global{Module: ms, Name: ns})
	case 'R', 0x81: // REDUCE, NEWOBJ: a callable (or class) and its argument tuple
		args, err := m.pop()
		if err != nil {
			return err
		}
		fn, err := m.pop()
		if err != nil {
			return err
		}
		t, ok := args.(Tuple)
		if !ok {
			name := "REDUCE"
			if op == 0x81 {
				name = "NEWOBJ"
			}
			return m.fail("%s with %s arguments", name, typeName(args))
		}
		v, err := m.call(fn, t, nil)
		if err != nil {
			return err
		}
		return m.push(v)
	case 0x92: // NEWOBJ_EX
		kw, err := m.pop()
		if err != nil {
			return err
		}
		args, err := m.pop()
		if err != nil {
			return err
		}
		cls, err := m.pop()
		if err != nil {
			return err
		}
		t, ok1 := args.(Tuple)
		d, ok2 := kw.(*Dict)
		if !ok1 || !ok2 {
			return m.fail("NEWOBJ_EX with %s, %s", typeName(args), typeName(kw))
		}
		v, err := m.call(cls, t, d)
		if err != nil {
			return err
		}
		return m.push(v)
	case 'b': // BUILD
		state, err := m.pop()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		switch o := t.(type) {
		case *Object:
			o.State = state
		case *Dict:
			o.Attrs = state
		case *List, *Set:
			// A subclass's attributes: not kept.
		default:
			if b, ok := t.(Builder); ok {
				return b.Build(state)
			}
			return m.fail("BUILD on %s", typeName(t))
		}
		return nil
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return err
		}
		return m.persistent(pid)
	case 'P': // PERSID
		s, err := m.line()
		if err != nil {
			return err
		}
		return m.persistent(s)
	case 0x97: // NEXT_BUFFER
		return m.fail("out-of-band buffers (protocol 5) are not supported")
	case 0x98: // READONLY_BUFFER
		return nil
	}
	return m.fail("unsupported opcode 0x%02x", op)
}

// Builder is implemented by values a Call hook returns that accept BUILD.
type Builder interface{ Build(state any) error }

func (m *Machine) persistent(pid any) error {
	if m.PersistentLoad == nil {
		return m.fail("a persistent id (%s) and no loader for it", typeName(pid))
	}
	v, err := m.PersistentLoad(pid)
	if err != nil {
		return err
	}
	return m.push(v)
}

func (m *Machine) call(fn any, args Tuple, kw *Dict) (any, error) {
	if m.Call != nil {
		v, ok, err := m.Call(fn, args)
		if err != nil {
			return nil, err
		}
		if ok {
			return v, nil
		}
	}
	if g, ok := fn.(*Global); ok {
		switch g.String() {
		case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
			if len(args) == 0 {
				return &Dict{}, nil
			}
		case "builtins.list", "__builtin__.list":
			if len(args) == 0 {
				return &List{}, nil
			}
		case "builtins.set", "__builtin__.set", "builtins.frozenset":
			if len(args) == 0 {
				return &Set{}, nil
			}
			if l, ok := args[0].(*List); ok && len(args) == 1 {
				return &Set{Items: append([]any(nil), l.Items...)}, nil
			}
		case "copyreg._reconstructor", "copy_reg._reconstructor":
			// Protocol 0/1 instances: object.__new__(cls).
			if len(args) == 3 {
				return &Object{Callable: args[0]}, nil
			}
		}
	}
	if _, ok := fn.(*Global); !ok {
		if _, ok := fn.(*Object); !ok {
			return nil, m.fail("call of %s", typeName(fn))
		}
	}
	return &Object{Callable: fn, Args: args, Kwargs: kw}, nil
}

func (m *Machine) appendTo(items []any) error {
	t, err := m.top()
	if err != nil {
		return err
	}
	switch l := t.(type) {
	case *List:
		l.Items = append(l.Items, items...)
	case *Object:
		l.ListItems = append(l.ListItems, items...)
	default:
		return m.fail("APPEND to %s", typeName(t))
	}
	return nil
}

func (m *Machine) setItemsTop(items []any) error {
	t, err := m.top()
	if err != nil {
		return err
	}
	switch d := t.(type) {
	case *Dict:
		return m.setItems(d, items)
	case *Object:
		if d.DictItems == nil {
			d.DictItems = &Dict{}
		}
		return m.setItems(d.DictItems, items)
	}
	return m.fail("SETITEM on %s", typeName(t))
}

func (m *Machine) setItems(d *Dict, items []any) error {
	if len(items)%2 != 0 {
		return m.fail("odd number of items (%d) for a dict", len(items))
	}
	for i := 0; i < len(items); i += 2 {
		switch items[i].(type) {
		case *List, *Dict, *Set:
			return m.fail("unhashable dict key %s", typeName(items[i]))
		}
		d.Set(items[i], items[i+1])
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		if b[len(b)-1]&0x80 != 0 && len(b) < 8 {
			u |= ^uint64(0) << (8 * len(b))
		}
		return int64(u)
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return normLong(v)
}

func normLong(v *big.Int) any {
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// typeName names a value's Python type, for errors.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case *List:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Set:
		return "set"
	case *Global:
		return v.String()
	case *Object:
		if n := v.ClassName(); n != "" {
			return n + " object"
		}
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// TypeName names a value's Python type, for error messages.
func TypeName(v any) string { return typeName(v) }

// Int returns v as an int when it is a Python int that fits.
func Int(v any) (int, bool) {
	i, ok := v.(int64)
	if !ok || i > math.MaxInt || i < math.MinInt {
		return 0, false
	}
	return int(i), true
}
