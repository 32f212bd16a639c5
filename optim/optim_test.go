package optim

import (
	"math"
	"testing"

	"forger/nn"
	"forger/tensor"
)

func TestAdamFirstStepsMatchHandComputed(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{1, -2}, 2), Grad: tensor.New(2)}
	a := NewAdam([]*nn.Param{p}, 0.1, 0.9, 0.999)
	// Step 1 with gradient g: m̂ = g, v̂ = g², so the update is lr·sign(g).
	p.Grad.Data[0], p.Grad.Data[1] = 0.5, -3
	a.Step()
	if math.Abs(float64(p.Value.Data[0])-0.9) > 1e-6 || math.Abs(float64(p.Value.Data[1])+1.9) > 1e-6 {
		t.Fatalf("after step 1: %v, want [0.9 -1.9]", p.Value.Data)
	}
	if p.Grad.Data[0] != 0 {
		t.Fatal("Step did not clear the gradient")
	}
	// Step 2 with gradient 1 on w0: m = 0.9·0.05+0.1 = 0.145, v = 0.999·0.00025+0.001 = 0.00124975,
	// m̂ = 0.145/0.19, v̂ = 0.00124975/0.001999.
	p.Grad.Data[0] = 1
	a.Step()
	mh, vh := 0.145/0.19, 0.00124975/(1-0.999*0.999)
	want := 0.9 - 0.1*mh/(math.Sqrt(vh)+1e-8)
	if math.Abs(float64(p.Value.Data[0])-want) > 1e-5 {
		t.Fatalf("after step 2: %v, want %v", p.Value.Data[0], want)
	}
}

func TestAdamMinimisesQuadratic(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{5, -3, 2}, 3), Grad: tensor.New(3)}
	a := NewAdam([]*nn.Param{p}, 0.05, 0.9, 0.999)
	for i := 0; i < 2000; i++ {
		for j, v := range p.Value.Data {
			p.Grad.Data[j] = 2 * (v - float32(j))
		}
		a.Step()
	}
	for j, v := range p.Value.Data {
		if math.Abs(float64(v)-float64(j)) > 1e-2 {
			t.Fatalf("w[%d] = %v, want %d", j, v, j)
		}
	}
}

func TestAdamSkipsFrozen(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{1}, 1), Grad: tensor.FromData([]float32{1}, 1), Frozen: true}
	NewAdam([]*nn.Param{p}, 0.1, 0.5, 0.999).Step()
	if p.Value.Data[0] != 1 {
		t.Fatal("frozen parameter moved")
	}
}

func TestAdamStateRoundTrip(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{1, 2}, 2), Grad: tensor.FromData([]float32{0.3, -0.1}, 2)}
	a := NewAdam([]*nn.Param{p}, 0.1, 0.5, 0.999)
	a.Step()
	f := &tensor.File{Tensors: map[string]*tensor.Tensor{}}
	for _, nt := range a.State("opt") {
		f.Tensors[nt.Name] = nt.Tensor.Clone()
	}
	b := NewAdam([]*nn.Param{p}, 0.1, 0.5, 0.999)
	if err := b.LoadState("opt", f, a.Steps); err != nil {
		t.Fatal(err)
	}
	if tensor.MaxAbsDiff(a.M[0], b.M[0]) != 0 || tensor.MaxAbsDiff(a.V[0], b.V[0]) != 0 || b.Steps != 1 {
		t.Fatal("state not restored")
	}
	delete(f.Tensors, "opt.v.w")
	if err := b.LoadState("opt", f, 1); err == nil {
		t.Fatal("missing state accepted")
	}
}

func TestEMAWarmup(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{0}, 1)}
	e := NewEMA([]*nn.Param{p}, 0.999)
	p.Value.Data[0] = 10
	e.Update() // decay min(0.999, 1/10) = 0.1
	if math.Abs(float64(e.Shadow[0].Data[0])-9) > 1e-5 {
		t.Fatalf("first update: shadow %v, want 9", e.Shadow[0].Data[0])
	}
}

func TestEMA(t *testing.T) {
	p := &nn.Param{Name: "w", Value: tensor.FromData([]float32{0}, 1)}
	e := NewEMA([]*nn.Param{p}, 0.9)
	e.Updates = 1000 // past the warm-up: the decay is 0.9
	p.Value.Data[0] = 10
	e.Update()
	if math.Abs(float64(e.Shadow[0].Data[0])-1) > 1e-6 {
		t.Fatalf("shadow %v, want 1", e.Shadow[0].Data[0])
	}
	e.Swap()
	if math.Abs(float64(p.Value.Data[0])-1) > 1e-6 || e.Shadow[0].Data[0] != 10 {
		t.Fatalf("swap gave %v", p.Value.Data[0])
	}
	e.Swap()
	if p.Value.Data[0] != 10 {
		t.Fatal("double swap did not restore")
	}
}
