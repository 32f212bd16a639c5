package dataset

import "testing"

func TestDefaultShape(t *testing.T) {
	for _, c := range []struct {
		spec           string
		size, channels int
	}{
		{FashionMNIST, 28, 1},
		{MNIST, 28, 1},
		{"/data/train-images-idx3-ubyte.gz", 28, 1},
		{CartoonFaces, 64, 3},
		{"photos/", 64, 3},
	} {
		if s, ch := DefaultShape(c.spec); s != c.size || ch != c.channels {
			t.Errorf("DefaultShape(%q) = %d, %d, want %d, %d", c.spec, s, ch, c.size, c.channels)
		}
	}
}
