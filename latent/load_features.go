package latent

import (
	"errors"
	"fmt"

	"forger/face"
	"forger/gan"
	"forger/judge"
)

// FeatAuto names the judge's features when a judge is given, else the
// discriminator's (LoadFeatures).
const FeatAuto = "auto"

// FeatureSource says where LoadFeatures finds the feature networks.
type FeatureSource struct {
	Model      string // the checkpoint, whose discriminator FeatDisc uses
	Judge      string // a judge or attribute classifier file, for FeatJudge
	FaceModels string // the face models' folder for FeatFace ("": face.DefaultDir())
}

// ErrNoJudge is LoadFeatures' error for FeatJudge without a judge.
var ErrNoJudge = errors.New("judge features need a judge or attribute classifier of the model's images")

// UnknownFeaturesError is LoadFeatures' error for a name it does not know.
type UnknownFeaturesError struct{ Name string }

func (e *UnknownFeaturesError) Error() string {
	return fmt.Sprintf("unknown feature network %q: use auto, judge, disc or face", e.Name)
}

// LoadFeatures loads the feature network name (FeatDisc, FeatJudge,
// FeatFace or FeatAuto) for a model of configuration cfg.
func LoadFeatures(name string, cfg gan.Config, src FeatureSource) (Features, error) {
	if name == FeatAuto {
		name = FeatDisc
		if src.Judge != "" {
			name = FeatJudge
		}
	}
	switch name {
	case FeatDisc:
		d, err := gan.LoadDiscriminatorNet(src.Model)
		if err != nil {
			return nil, err
		}
		switch d := d.(type) {
		case *gan.StyleDiscriminator:
			return StyleDiscFeatures(d), nil
		case *gan.Discriminator:
			return DiscFeatures(d), nil
		}
		return nil, fmt.Errorf("latent: no features of a %T discriminator", d)
	case FeatJudge:
		if src.Judge == "" {
			return nil, ErrNoJudge
		}
		j, err := judge.Load(src.Judge)
		if err != nil {
			return nil, err
		}
		if j.Cfg.Size != cfg.Size || j.Cfg.Channels != cfg.Channels {
			return nil, fmt.Errorf("the judge %s reads %d×%d×%d images, the model makes %d×%d×%d", src.Judge, j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels, cfg.Size, cfg.Size, cfg.Channels)
		}
		return JudgeFeatures(j), nil
	case FeatFace:
		dir := src.FaceModels
		if dir == "" {
			dir = face.DefaultDir()
		}
		d, err := face.LoadDescriptorNet(dir)
		if err != nil {
			return nil, err
		}
		return FaceFeatures(d, cfg.Channels), nil
	}
	return nil, &UnknownFeaturesError{name}
}
