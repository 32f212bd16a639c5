package dataset

import "strings"

// DefaultShape is the image size and channels a command uses for spec
// when none is given: 28×28 gray for the MNIST-style sets (fashion-mnist,
// mnist, an IDX images file), 64×64 RGB for everything else. Commands that
// read a data set (train, judge train) share it so their defaults agree.
func DefaultShape(spec string) (size, channels int) {
	if spec == FashionMNIST || spec == MNIST || strings.Contains(spec, "idx3") {
		return 28, 1
	}
	return 64, 3
}
