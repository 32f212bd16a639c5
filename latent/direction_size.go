package latent

import (
	"fmt"

	"forger/gan"
)

// DirectionSizeError is CheckDirectionSize's error: a direction whose length
// is not that of the model's codes in the direction's space (one learned
// for another model).
type DirectionSizeError struct {
	Values, NZ int
	Space      Space // the direction's space; "" is z
}

func (e *DirectionSizeError) Error() string {
	return fmt.Sprintf("the direction has %d values, the model's %s has %d: was it learned for another model?", e.Values, e.Space, e.NZ)
}

// CheckDirectionSize is the one check that a direction of values values fits
// a model whose z has nz: it returns a *DirectionSizeError unless they are
// equal. The CLI, the studio, the look-alike pipeline and Check all ask it
// (through Direction.CheckFor for directions in W).
func CheckDirectionSize(values, nz int) error { return checkDirectionSize(values, nz, SpaceZ) }

func checkDirectionSize(values, dim int, s Space) error {
	if values != dim {
		return &DirectionSizeError{values, dim, s.norm()}
	}
	return nil
}

// CheckModel is CheckDirectionSize for d.
func (d *Direction) CheckModel(nz int) error { return CheckDirectionSize(len(d.Direction), nz) }

// CheckFor checks that d fits the model cfg: that the model has d's space
// (a *SpaceError), that d is as long as its codes there (a
// *DirectionSizeError naming the space) and that it has d's layers (a
// *LayerError).
func (d *Direction) CheckFor(cfg gan.Config) error {
	dim, err := d.Space.Dim(cfg)
	if err != nil {
		return err
	}
	if err := checkDirectionSize(len(d.Direction), dim, d.Space); err != nil {
		return err
	}
	return CheckLayers(cfg, d.Layers)
}
