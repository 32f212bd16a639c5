package latent

import "fmt"

// DirectionSizeError is CheckModel's error: a direction whose length is not
// the model's z's (one learned for another model).
type DirectionSizeError struct{ Values, NZ int }

func (e *DirectionSizeError) Error() string {
	return fmt.Sprintf("the direction has %d values, the model's z has %d: was it learned for another model?", e.Values, e.NZ)
}

// CheckModel returns a *DirectionSizeError unless d has nz values, the
// length of the model's z.
func (d *Direction) CheckModel(nz int) error {
	if len(d.Direction) != nz {
		return &DirectionSizeError{len(d.Direction), nz}
	}
	return nil
}
