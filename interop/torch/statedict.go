package torch

import (
	"fmt"

	"forger/interop/pickle"
)

// Named is a tensor with its state_dict name.
type Named struct {
	Name   string
	Tensor *Tensor
}

// maxDepth bounds how deep StateDict follows nested dicts and modules; a
// pickle's memo can make a container hold itself.
const maxDepth = 32

// StateDict returns the tensors a checkpoint holds, in file order, named as
// in a state_dict: a state_dict's own names; in a dict of state_dicts (or of
// other things) the outer key, a dot and the inner name ("netG.main.0.weight");
// in a module saved whole (torch.save(model)) the names model.state_dict()
// would give. Values that are not tensors (epochs, settings, optimizer
// states keyed by number) are left out.
func StateDict(v any) ([]Named, error) {
	var out []Named
	seen := map[any]bool{}
	var walk func(prefix string, v any, depth int) error
	walk = func(prefix string, v any, depth int) error {
		if depth > maxDepth {
			return formatErr("containers nested more than %d deep", maxDepth)
		}
		switch x := v.(type) {
		case *Tensor:
			if prefix == "" {
				prefix = "tensor"
			}
			out = append(out, Named{Name: prefix, Tensor: x})
		case *pickle.Dict:
			if seen[x] {
				return nil
			}
			seen[x] = true
			for i, k := range x.Keys {
				ks, ok := k.(string)
				if !ok {
					continue
				}
				if err := walk(join(prefix, ks), x.Values[i], depth+1); err != nil {
					return err
				}
			}
		case *pickle.Object:
			if seen[x] {
				return nil
			}
			seen[x] = true
			// An nn.Module: its __dict__ holds _parameters, _buffers and
			// _modules, each an OrderedDict. NVIDIA's persistent classes
			// (torch_utils.persistence) pickle as a call of
			// _reconstruct_persistent_obj(meta), the __dict__ in meta["state"].
			st, ok := x.State.(*pickle.Dict)
			if x.ClassName() == "torch_utils.persistence._reconstruct_persistent_obj" && len(x.Args) == 1 {
				if meta, ok2 := x.Args[0].(*pickle.Dict); ok2 {
					if s, ok3 := meta.Get("state"); ok3 {
						st, ok = s.(*pickle.Dict)
					}
				}
			}
			if !ok {
				if x.DictItems != nil { // a dict subclass
					return walk(prefix, x.DictItems, depth+1)
				}
				return nil
			}
			for _, part := range []string{"_parameters", "_buffers", "_modules"} {
				if p, ok := st.Get(part); ok {
					if err := walk(prefix, p, depth+1); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk("", v, 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, formatErr("no tensors in it (a %s)", pickle.TypeName(v))
	}
	return out, nil
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// ShapeString formats a shape as PyTorch prints it: [64, 3, 4, 4].
func ShapeString(s []int) string { return fmt.Sprint(s) }
