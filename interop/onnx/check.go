package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"forger/gan"
	"forger/internal/home"
	"forger/internal/nodepkg"
	"forger/tensor"
)

// CheckData is what the ONNX Runtime check compares: forger's inputs and
// its images, NCHW.
type CheckData struct {
	Z      []float32 `json:"z"`
	ZShape []int     `json:"z_shape"`
	Class  []int     `json:"class,omitempty"`
	// Truncation is the ψ a stylegan's images were rendered at; the check
	// feeds it to the graph's truncation input when the graph has one.
	Truncation *float64  `json:"truncation,omitempty"`
	Images     []float32 `json:"images"`
	Shape      []int     `json:"shape"`
}

// MakeCheck runs g on n fixed z (seeded; classes 0, 1, … in turn) and
// returns the inputs and forger's images in NCHW.
func MakeCheck(g *gan.Generator, n int, seed uint64) *CheckData {
	cfg := g.Cfg
	rng := rand.New(rand.NewPCG(seed, 2026))
	z := tensor.New(n, cfg.NZ)
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
	var labels []int32
	c := &CheckData{Z: z.Data, ZShape: []int{n, cfg.NZ}}
	if cfg.Conditional() {
		for i := range n {
			labels = append(labels, int32(i%len(cfg.Classes)))
			c.Class = append(c.Class, i%len(cfg.Classes))
		}
	}
	g.SetTraining(false)
	c.setImages(g.Forward(z, labels), cfg)
	return c
}

// MakeStyleCheck is MakeCheck for a stylegan rendered at truncation psi
// with its constant noise (forger generate's images), clipped to [-1, 1] as
// the graph clips them. It records psi (Truncation), which the check feeds
// to a graph that takes it; a graph of fixed truncation should have psi's.
func MakeStyleCheck(g *gan.StyleGenerator, n int, seed uint64, psi float64) *CheckData {
	cfg := g.Cfg
	rng := rand.New(rand.NewPCG(seed, 2026))
	z := tensor.New(n, cfg.NZ)
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
	c := &CheckData{Z: z.Data, ZShape: []int{n, cfg.NZ}, Truncation: &psi}
	g.SetTraining(false)
	c.setImages(g.Truncated(z, psi), cfg)
	for i, v := range c.Images {
		c.Images[i] = min(max(v, -1), 1)
	}
	return c
}

// setImages sets the check's images from forger's [N, H, W, C] ones.
func (c *CheckData) setImages(img *tensor.Tensor, cfg gan.Config) {
	n := img.Shape[0]
	s, ch := cfg.Size, cfg.Channels
	c.Shape = []int{n, ch, s, s}
	c.Images = make([]float32, img.Len())
	for i := range n {
		for y := range s {
			for x := range s {
				for k := range ch {
					c.Images[((i*ch+k)*s+y)*s+x] = img.Data[((i*s+y)*s+x)*ch+k]
				}
			}
		}
	}
}

// checkScript is the ONNX Runtime check, relative to the repository root.
const checkScript = "scripts/interop/onnx-check.mjs"

// RunCheck runs model in ONNX Runtime (scripts/interop/onnx-check.mjs, whose
// npm packages are installed with npm ci --ignore-scripts on first use) on
// the check's inputs and returns the max abs difference from forger's
// images.
func RunCheck(ctx context.Context, model string, c *CheckData, log io.Writer) (float64, error) {
	script := home.Script(checkScript)
	if script == "" {
		return 0, fmt.Errorf("the ONNX Runtime check needs %s (beside forger's executable or above the current folder)", checkScript)
	}
	d := nodepkg.Dir{Path: filepath.Dir(script), CacheName: "interop", Files: []string{filepath.Base(script)},
		NPMArgs: []string{"--ignore-scripts"}, MinNode: 18}
	node, err := d.Node(ctx)
	if err != nil {
		return 0, fmt.Errorf("the ONNX Runtime check %w", err)
	}
	dir, err := d.Prepare(ctx, log)
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp("", "forger-onnx-check-*.json")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	if err := json.NewEncoder(tmp).Encode(c); err != nil {
		tmp.Close()
		return 0, err
	}
	tmp.Close()
	abs, err := filepath.Abs(model)
	if err != nil {
		return 0, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, filepath.Base(script)), abs, tmp.Name())
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("ONNX Runtime check failed (%v): %s", err, strings.ReplaceAll(strings.TrimSpace(stderr.String()), "\n", " | "))
	}
	var res struct {
		MaxAbsDiff *float64 `json:"max_abs_diff"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil || res.MaxAbsDiff == nil {
		return 0, fmt.Errorf("ONNX Runtime check: unexpected output %q", stdout.String())
	}
	return *res.MaxAbsDiff, nil
}
