package gan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"forger/internal/atomicfile"
	"forger/nn"
	"forger/optim"
	"forger/runfolder"
	"forger/tensor"
)

// A checkpoint is one safetensors file holding everything a run needs:
//
//	g.*            generator parameters and batch-norm statistics
//	g_ema.*        the averaged generator (when training keeps one), with
//	               batch-norm statistics re-estimated for it
//	d.*            discriminator parameters and buffers (a vae has none)
//	opt_g.m.*, opt_g.v.*, opt_d.m.*, opt_d.v.*   Adam moments
//	enc.*, opt_e.* a vae's encoder and its Adam moments (Checkpoint.Extra)
//
// and string metadata: "forger.config" (the Config as JSON), "forger.train"
// (the trainer's own state as JSON, see package train), "format"
// ("forger-checkpoint-1"). Tensors are F32, so other tools can read them.
const (
	MetaConfig = "forger.config"
	MetaTrain  = "forger.train"
	MetaFormat = "format"
	Format     = "forger-checkpoint-1"
)

// Tensors returns the generator's parameters and buffers under prefix.
func (g *Generator) Tensors(prefix string) []tensor.Named {
	return nn.AppendNamed(nn.AppendNamed(nil, prefix, g.Params()), prefix, g.Buffers())
}

// Load sets the generator's parameters and buffers from f.
func (g *Generator) Load(f *tensor.File, prefix string) error {
	if err := nn.LoadNamed(f, prefix, g.Params()); err != nil {
		return err
	}
	return nn.LoadNamed(f, prefix, g.Buffers())
}

// Tensors returns the discriminator's parameters and buffers under prefix.
func (d *Discriminator) Tensors(prefix string) []tensor.Named {
	return nn.AppendNamed(nn.AppendNamed(nil, prefix, d.Params()), prefix, d.Buffers())
}

// Load sets the discriminator's parameters and buffers from f.
func (d *Discriminator) Load(f *tensor.File, prefix string) error {
	if err := nn.LoadNamed(f, prefix, d.Params()); err != nil {
		return err
	}
	if err := nn.LoadNamed(f, prefix, d.Buffers()); err != nil {
		return err
	}
	// The spectral-norm wrappers compute the effective weight on Forward.
	return nil
}

// Checkpoint is what a training run saves. An imported generator may come
// alone: D, OptG and OptD nil (a network pickle's discriminator is not
// always usable), which every command but training reads.
type Checkpoint struct {
	Config     Config
	G          GeneratorNet
	D          DiscriminatorNet // nil: a generator only, or a model without one (a vae)
	OptG, OptD *optim.Adam      // nil: no optimizer state
	// Extra are further tensors saved as they are named (a vae's encoder
	// and its optimiser).
	Extra      []tensor.Named
	EMA        *optim.EMA // nil when the run keeps no average
	TrainState string     // JSON owned by package train
}

// Save writes the checkpoint atomically: a reader sees the old file or the
// new one, never a part.
func (c *Checkpoint) Save(path string) error {
	ts := c.G.Tensors("g")
	if c.D != nil {
		ts = append(ts, c.D.Tensors("d")...)
	}
	if c.OptG != nil {
		ts = append(ts, c.OptG.State("opt_g")...)
	}
	if c.OptD != nil {
		ts = append(ts, c.OptD.State("opt_d")...)
	}
	ts = append(ts, c.Extra...)
	if c.EMA != nil {
		var avg []tensor.Named
		err := WithAverage(c.G, c.EMA, func() error {
			for _, nt := range c.G.Tensors("g_ema") {
				avg = append(avg, tensor.Named{Name: nt.Name, Tensor: nt.Tensor.Clone()})
			}
			return nil
		})
		if err != nil {
			return err
		}
		ts = append(ts, avg...)
	}
	meta := map[string]string{MetaFormat: Format, MetaConfig: c.Config.JSON(), MetaTrain: c.TrainState}
	return atomicfile.Write(path, func(w io.Writer) error {
		return tensor.WriteSafetensors(w, ts, meta)
	})
}

// ErrNotCheckpoint is wrapped by Open when the file is not a forger model.
var ErrNotCheckpoint = errors.New("not a forger checkpoint")

// Open reads a checkpoint file (or the latest checkpoint of a run folder)
// and returns its contents and configuration.
func Open(path string) (*tensor.File, Config, error) {
	path = runfolder.Resolve(path)
	fh, err := os.Open(path)
	if err != nil {
		return nil, Config{}, fmt.Errorf("opening model: %w", err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		return nil, Config{}, fmt.Errorf("%s: %w: %v", path, ErrNotCheckpoint, err)
	}
	cfg, err := configOf(path, f.Metadata)
	if err != nil {
		return nil, Config{}, err
	}
	return f, cfg, nil
}

// ReadConfig reads only the configuration of a checkpoint (or of the latest
// checkpoint of a run folder): the file's header, not its tensors. Its
// errors are Open's.
func ReadConfig(path string) (Config, error) {
	_, cfg, err := readHeader(path)
	return cfg, err
}

// readHeader is the metadata and Config of a checkpoint's header.
func readHeader(path string) (map[string]string, Config, error) {
	path = runfolder.Resolve(path)
	fh, err := os.Open(path)
	if err != nil {
		return nil, Config{}, fmt.Errorf("opening model: %w", err)
	}
	defer fh.Close()
	meta, err := tensor.ReadSafetensorsMetadata(fh)
	if err != nil {
		return nil, Config{}, fmt.Errorf("%s: %w: %v", path, ErrNotCheckpoint, err)
	}
	cfg, err := configOf(path, meta)
	return meta, cfg, err
}

// configOf is the valid Config in a checkpoint's metadata.
func configOf(path string, meta map[string]string) (Config, error) {
	raw, ok := meta[MetaConfig]
	if !ok {
		return Config{}, fmt.Errorf("%s: %w (a safetensors file without forger's %q metadata)", path, ErrNotCheckpoint, MetaConfig)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w: bad config: %v", path, ErrNotCheckpoint, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w: %v", path, ErrNotCheckpoint, err)
	}
	return cfg, nil
}

// LoadGenerator builds the generator stored in a checkpoint, in inference
// mode: the averaged generator when the checkpoint has one, else the live one.
func LoadGenerator(path string) (*Generator, error) {
	f, cfg, err := Open(path)
	if err != nil {
		return nil, err
	}
	return loadDCGAN(f, cfg, path)
}

func loadDCGAN(f *tensor.File, cfg Config, path string) (*Generator, error) {
	g, err := NewGenerator(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if err := loadInference(f, path, g); err != nil {
		return nil, err
	}
	return g, nil
}

// inferenceNet is what loadInference needs of a generator.
type inferenceNet interface {
	Params() []*nn.Param
	Load(f *tensor.File, prefix string) error
	SetTraining(bool)
}

// loadInference loads g from an open checkpoint — its averaged weights when
// it has them, else the live ones — and puts it in inference mode.
func loadInference(f *tensor.File, path string, g inferenceNet) error {
	prefix := "g"
	if _, ok := f.Tensors["g_ema."+g.Params()[0].Name]; ok {
		prefix = "g_ema"
	}
	if err := g.Load(f, prefix); err != nil {
		return fmt.Errorf("%s: %w", runfolder.Resolve(path), err)
	}
	g.SetTraining(false)
	return nil
}

// LoadGeneratorNet builds the generator of any architecture stored in a
// checkpoint, in inference mode, as LoadGenerator does: a *Generator for
// dcgan, cdcgan and a vae's decoder, a *StyleGenerator for stylegan.
func LoadGeneratorNet(path string) (GeneratorNet, error) {
	f, cfg, err := Open(path)
	if err != nil {
		return nil, err
	}
	if cfg.Arch != StyleGAN {
		g, err := loadDCGAN(f, cfg, path) // the file is read once
		if err != nil {
			return nil, err // not a nil *Generator inside the interface
		}
		return g, nil
	}
	g, err := NewStyleGenerator(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if err := loadInference(f, path, g); err != nil {
		return nil, err
	}
	return g, nil
}

func writeFile(path string, b []byte) error { return atomicfile.WriteBytes(path, b) }

// LoadDiscriminatorNet builds the discriminator of any architecture stored
// in a checkpoint (NewDiscriminatorNet's), in inference mode:
// ErrNoDiscriminator when the file holds a generator alone.
func LoadDiscriminatorNet(path string) (DiscriminatorNet, error) {
	f, cfg, err := Open(path)
	if err != nil {
		return nil, err
	}
	hasD := false
	for name := range f.Tensors {
		if strings.HasPrefix(name, "d.") {
			hasD = true
			break
		}
	}
	if cfg.Arch == VAE || !hasD {
		return nil, fmt.Errorf("%s: %w", runfolder.Resolve(path), ErrNoDiscriminator)
	}
	d, err := NewDiscriminatorNet(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	if err := d.Load(f, "d"); err != nil {
		return nil, fmt.Errorf("%s: %w", runfolder.Resolve(path), err)
	}
	d.SetTraining(false)
	return d, nil
}
