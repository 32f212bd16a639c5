package latent

import "fmt"

// DirectionSizeError is CheckDirectionSize's error: a direction whose length
// is not the model's z's (one learned for another model).
type DirectionSizeError struct{ Values, NZ int }

func (e *DirectionSizeError) Error() string {
	return fmt.Sprintf("the direction has %d values, the model's z has %d: was it learned for another model?", e.Values, e.NZ)
}

// CheckDirectionSize is the one check that a direction of values values fits
// a model whose z has nz: it returns a *DirectionSizeError unless they are
// equal. The CLI, the studio, the look-alike pipeline and Check all ask it.
func CheckDirectionSize(values, nz int) error {
	if values != nz {
		return &DirectionSizeError{values, nz}
	}
	return nil
}

// CheckModel is CheckDirectionSize for d.
func (d *Direction) CheckModel(nz int) error { return CheckDirectionSize(len(d.Direction), nz) }
