package studio

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"sync"
	"time"

	"forger/gan"
	"forger/latent"
	"forger/picture"
	"forger/runfolder"
	"forger/tensor"
)

// models is the studio's view of --models: the checkpoints found there, by
// name, and the generators loaded from them, by path. Its menu holds one
// entry per run, the run's newest checkpoint named after the run, and each
// checkpoint outside a run; every checkpoint is also found by its own name
// (run/stem, as forger models list names it).
type models struct {
	dir       string
	instances int // generators per checkpoint

	mu     sync.Mutex
	list   []gan.ModelInfo // the menu
	every  []gan.ModelInfo // every checkpoint, by its own name
	byName map[string]gan.ModelInfo
	gens   map[string]*genPool // by path
}

// genPool holds the loaded generators of one checkpoint. A generator owns
// its buffers, so each is used by one goroutine at a time: a request takes
// one from free and puts it back.
type genPool struct {
	path    string
	modTime time.Time
	free    chan gan.GeneratorNet
	mu      sync.Mutex // guards made, cfg, haveCfg
	made    int
	max     int
	cfg     gan.Config
	haveCfg bool
}

func newModels(dir string, instances int) *models {
	return &models{dir: dir, instances: max(instances, 1), byName: map[string]gan.ModelInfo{}, gens: map[string]*genPool{}}
}

// scan (re)reads the checkpoints under dir.
func (m *models) scan() ([]gan.ModelInfo, error) {
	infos, err := gan.FindModels(m.dir)
	byName := map[string]gan.ModelInfo{}
	// A name used twice: the menu's entry wins, then the first by path.
	keep := func(in []gan.ModelInfo) []gan.ModelInfo {
		var out []gan.ModelInfo
		for _, mi := range in {
			if _, dup := byName[mi.Name]; dup {
				continue
			}
			byName[mi.Name] = mi
			out = append(out, mi)
		}
		return out
	}
	list := keep(gan.Newest(infos))
	keep(infos)
	var every []gan.ModelInfo
	for _, mi := range infos {
		if byName[mi.Name].Path == mi.Path {
			every = append(every, mi)
		}
	}
	m.mu.Lock()
	m.list, m.every, m.byName = list, every, byName
	m.mu.Unlock()
	return list, err
}

// all returns the menu: one entry per run and the checkpoints outside runs.
func (m *models) all() []gan.ModelInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gan.ModelInfo(nil), m.list...)
}

// checkpoints returns every checkpoint that its own name finds (a loose
// file named like a run is found only as the run).
func (m *models) checkpoints() []gan.ModelInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]gan.ModelInfo(nil), m.every...)
}

func (m *models) lookup(name string) (gan.ModelInfo, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mi, ok := m.byName[name]
	return mi, ok
}

// pool returns the generators of the checkpoint at path, reloading them
// when the file has changed since they were loaded.
func (m *models) pool(path string) (*genPool, error) {
	st, err := os.Stat(runfolder.Resolve(path))
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	p := m.gens[path]
	if p == nil || !p.modTime.Equal(st.ModTime()) {
		p = &genPool{path: path, modTime: st.ModTime(), free: make(chan gan.GeneratorNet, m.instances), max: m.instances}
		m.gens[path] = p
	}
	m.mu.Unlock()
	return p, nil
}

// get takes a free generator, loading a new one while fewer than max exist.
func (p *genPool) get(ctx context.Context) (gan.GeneratorNet, error) {
	select {
	case g := <-p.free:
		return g, nil
	default:
	}
	p.mu.Lock()
	if p.made < p.max {
		p.made++
		p.mu.Unlock()
		g, err := gan.LoadGeneratorNet(p.path) // a dcgan's or a stylegan's
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.made--
			return nil, err
		}
		p.cfg, p.haveCfg = g.ModelConfig(), true
		return g, nil
	}
	p.mu.Unlock()
	select {
	case g := <-p.free:
		return g, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *genPool) put(g gan.GeneratorNet) { p.free <- g }

// config returns the model's configuration, loading a generator the first
// time.
func (m *models) config(ctx context.Context, mi gan.ModelInfo) (gan.Config, error) {
	p, err := m.pool(mi.Path)
	if err != nil {
		return gan.Config{}, err
	}
	p.mu.Lock()
	cfg, ok := p.cfg, p.haveCfg
	p.mu.Unlock()
	if ok {
		return cfg, nil
	}
	g, err := p.get(ctx)
	if err != nil {
		return gan.Config{}, err
	}
	p.put(g)
	return g.ModelConfig(), nil
}

// with lends fn a generator of model mi from its pool.
func (m *models) with(ctx context.Context, mi gan.ModelInfo, fn func(g gan.GeneratorNet) error) error {
	p, err := m.pool(mi.Path)
	if err != nil {
		return err
	}
	g, err := p.get(ctx)
	if err != nil {
		return err
	}
	defer p.put(g)
	return fn(g)
}

// pictures converts n images of per values each.
func pictures(imgs *tensor.Tensor, n, per int, cfg gan.Config) []image.Image {
	out := make([]image.Image, n)
	for i := range out { // FromTensor copies: the generator's buffers stay its own
		out[i] = picture.FromTensor(imgs.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels)
	}
	return out
}

// renderCodes renders the codes that codes makes for the generator of
// model mi (latent.Render: z, or a stylegan's w and w+), so that a code
// can be taken to another space (latent.ToSpace) with the generator.
func (m *models) renderCodes(ctx context.Context, mi gan.ModelInfo, codes func(g gan.GeneratorNet) ([]latent.Code, error)) ([]image.Image, error) {
	var out []image.Image
	err := m.with(ctx, mi, func(g gan.GeneratorNet) error {
		cs, err := codes(g)
		if err != nil {
			return err
		}
		imgs := latent.Render(g, cs)
		out = pictures(imgs, len(cs), imgs.Len()/len(cs), g.ModelConfig())
		return nil
	})
	return out, err
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	enc.Encode(&b, img) // cannot fail on a bytes.Buffer with a valid image
	return b.Bytes()
}

// morphCodes returns the codes of a morph from seed from to seed to in
// frames steps (at least 2) for g, with class weights class (nil for
// unconditional models): the seeds' latents truncated by psi as forger
// generate truncates them, joined by latent.Path, along the great circle
// in z, the same frames as forger morph --spherical draws for the same
// seeds; a stylegan's go through the mapping network and are joined
// linearly in W, as forger morph does.
func morphCodes(g gan.GeneratorNet, class []float32, from, to int64, psi float64, frames int) ([]latent.Code, error) {
	nz := g.ModelConfig().NZ
	a, b := latent.Code{Z: make([]float32, nz), Class: class}, latent.Code{Z: make([]float32, nz), Class: class}
	gan.SeedZ(g, from, psi, a.Z)
	gan.SeedZ(g, to, psi, b.Z)
	space := latent.SpaceZ
	if g.ModelConfig().Arch == gan.StyleGAN {
		space = latent.SpaceW
	}
	ends, err := latent.ToCommonSpace(g, []latent.Code{a, b}, space)
	if err == nil {
		ends, err = truncatedInW(g, ends, psi)
	}
	if err != nil {
		return nil, err
	}
	return latent.Path(ends, frames, !space.IsW())
}

// truncatedInW applies a stylegan's truncation psi to its codes, in W
// (latent.Truncated); another model's codes are returned as they are, its
// truncation being in its seeds' z (gan.SeedZ).
func truncatedInW(g gan.GeneratorNet, codes []latent.Code, psi float64) ([]latent.Code, error) {
	sg, ok := g.(*gan.StyleGenerator)
	if !ok {
		return codes, nil
	}
	out := make([]latent.Code, len(codes))
	for i, c := range codes {
		var err error
		if out[i], err = latent.Truncated(sg, c, psi); err != nil {
			return nil, err
		}
	}
	return out, nil
}
