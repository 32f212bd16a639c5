package tensor_test

import (
	"bytes"
	"fmt"

	"forger/tensor"
)

// A tensor is a shape over a flat float32 slice; a batch of images is NHWC.
func Example() {
	imgs := tensor.New(2, 4, 4, 3) // two 4×4 RGB images
	imgs.Fill(0.5)
	second := imgs.Samples(1, 2) // shares imgs' data
	second.Zero()
	fmt.Println(imgs, imgs.Len(), imgs.Dim(-1), imgs.Rows())
	fmt.Println(imgs.Sum())
	// Output:
	// Tensor[2 4 4 3] 96 3 32
	// 24
}

func ExampleFromData() {
	t := tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	flat := tensor.View(nil, t, 6)
	fmt.Println(t, flat, flat.Data[4])
	// Output: Tensor[2 3] Tensor[6] 5
}

// Tensors round-trip through a safetensors file, with their names and the
// file's metadata.
func ExampleWriteSafetensors() {
	w := tensor.FromData([]float32{0.25, -1}, 1, 2)
	var buf bytes.Buffer
	err := tensor.WriteSafetensors(&buf, []tensor.Named{{Name: "layer.weight", Tensor: w}}, map[string]string{"format": "pt"})
	if err != nil {
		panic(err)
	}
	f, err := tensor.ReadSafetensors(&buf)
	if err != nil {
		panic(err)
	}
	got, err := f.Lookup("layer.weight", 1, 2)
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Names, got.Data, f.Metadata["format"])
	// Output: [layer.weight] [0.25 -1] pt
}
