package train

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/internal/fixture"
	"forger/runfolder"
	"forger/tensor"
)

func TestMain(m *testing.M) {
	// Exact resume is promised for the deterministic pure-Go GEMM.
	os.Setenv("FORGER_GEMM", "go")
	os.Exit(m.Run())
}

// quietUI records warnings and can cancel the run after a number of updates.
type quietUI struct {
	updates  int
	cancelAt int
	cancel   context.CancelFunc
	warnings []string
	kinds    []WarningKind
}

func (u *quietUI) Start(int64, int64) {}
func (u *quietUI) Update(int64, int64, string) {
	u.updates++
	if u.cancel != nil && u.updates == u.cancelAt {
		u.cancel()
	}
}
func (u *quietUI) Warn(w Warning) {
	u.warnings = append(u.warnings, w.Message)
	u.kinds = append(u.kinds, w.Kind)
}
func (u *quietUI) Finish() {}

func needFashion(t *testing.T) {
	t.Helper()
	if err := dataset.Installed(dataset.FashionMNIST); err != nil {
		fixture.Missing(t, err)
	}
}

func small(out string) Options {
	o := ConditionalDefaults()
	o.Data, o.Out = "fashion-mnist", out
	o.Size, o.Channels, o.Epochs, o.Batch = 28, 1, 2, 32
	o.NGF, o.NDF, o.NZ, o.Limit = 8, 8, 16, 256
	o.LogEvery, o.SampleMinutes = 2, 0
	o.EMA = 0.99
	return o
}

// stoppedAndResumed runs o until the UI cancels it after cancelAt steps,
// then resumes it to its end, and returns the end's result.
func stoppedAndResumed(t *testing.T, o Options, cancelAt int) *Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := Run(ctx, o, &quietUI{cancelAt: cancelAt, cancel: cancel}, nil); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	end, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return end
}

func readG(t *testing.T, path string) *tensor.File {
	t.Helper()
	f, _, err := gan.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sameTensors(t *testing.T, a, b *tensor.File, prefix string) {
	t.Helper()
	n := 0
	for _, name := range a.Names {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		n++
		x, y := a.Tensors[name], b.Tensors[name]
		if y == nil {
			t.Fatalf("%s missing after resume", name)
		}
		for i := range x.Data {
			if math.Float32bits(x.Data[i]) != math.Float32bits(y.Data[i]) {
				t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", name, i, x.Data[i], y.Data[i])
			}
		}
	}
	if n == 0 {
		t.Fatalf("no tensors with prefix %q", prefix)
	}
}

func TestResumeEqualsUninterrupted(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	straight, err := Run(context.Background(), small(filepath.Join(dir, "a")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if straight.Stopped != "done" || straight.Epochs != 2 || straight.Images != 2*256 {
		t.Fatalf("uninterrupted run: %+v", straight)
	}

	// Stop in the middle of epoch 1 (as Ctrl-C does), then resume twice:
	// once mid-epoch, once at an epoch boundary.
	ctx, cancel := context.WithCancel(context.Background())
	ui := &quietUI{cancelAt: 5, cancel: cancel}
	o := small(filepath.Join(dir, "b"))
	part, err := Run(ctx, o, ui, nil)
	if err != nil {
		t.Fatal(err)
	}
	if part.Stopped != "interrupted" || part.Epochs != 0 || part.Images != 5*32 {
		t.Fatalf("interrupted run: %+v", part)
	}
	// Ctrl-C keeps the checkpoint and a grid but skips the animation.
	if _, err := os.Stat(runfolder.Progress(o.Out)); part.Progress != "" || err == nil {
		t.Errorf("an interrupted run wrote progress.gif (%q)", part.Progress)
	}
	if grids, _ := filepath.Glob(filepath.Join(runfolder.Samples(o.Out), "*.png")); len(grids) == 0 || part.Checkpoint == "" {
		t.Errorf("an interrupted run left %d grids and checkpoint %q", len(grids), part.Checkpoint)
	}
	if _, err := Run(context.Background(), o, &quietUI{}, nil); !errors.Is(err, ErrHasCheckpoints) {
		t.Fatalf("restarting over a run without --resume: %v", err)
	}
	o.Resume, o.Epochs = true, 1
	mid, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil || mid.Epochs != 1 {
		t.Fatalf("resume to epoch 1: %+v %v", mid, err)
	}
	o.Epochs = 2
	end, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(end.Checkpoint) != filepath.Base(straight.Checkpoint) {
		t.Fatalf("checkpoint names differ: %s vs %s", end.Checkpoint, straight.Checkpoint)
	}
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "g_ema.", "d.", "opt_g.", "opt_d."} {
		sameTensors(t, a, b, p)
	}
}

// With D stepping twice per G step and an odd number of batches per epoch
// (a G step is forced at the epoch's end), a run resumed at an epoch's end
// still equals the uninterrupted one: D's optimiser resumes at its own
// step count.
func TestResumeEqualsUninterruptedDSteps(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	o := small(filepath.Join(dir, "a"))
	o.DSteps, o.Limit = 2, 7*32
	straight, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Out, o.Epochs = filepath.Join(dir, "b"), 1
	if _, err := Run(context.Background(), o, &quietUI{}, nil); err != nil {
		t.Fatal(err)
	}
	o.Resume, o.Epochs = true, 2
	end, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "d.", "opt_d."} {
		sameTensors(t, a, b, p)
	}
}

func TestRunWritesPicturesAndMetrics(t *testing.T) {
	needFashion(t)
	dir := filepath.Join(t.TempDir(), "run")
	res, err := Run(context.Background(), small(dir), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"samples/epoch_000.png", "samples/epoch_001.png", "samples/epoch_002.png", "losses.png", "progress.gif", "checkpoints/latest.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s", p)
		}
	}
	// One row per class (10) of 10 seeds, 28-px tiles upscaled ×2 with 2-px gutters.
	f, err := os.Open(filepath.Join(dir, "samples/epoch_002.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 10*56+11*2 || h != w {
		t.Fatalf("grid is %dx%d", w, h)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 16/2 {
		t.Fatalf("%d metrics lines, want 8", len(ms))
	}
	for _, m := range ms {
		// Hinge losses: D's is ≥ 0, G's (−mean D(G(z))) has either sign.
		if m.LossD < 0 || math.IsNaN(m.LossG) || m.DReal <= 0 || m.DReal >= 1 || m.ImagesPerSec <= 0 {
			t.Fatalf("implausible metrics %+v", m)
		}
	}
	info, err := gan.ReadInfo(res.Checkpoint)
	if err != nil || info.Epochs != 2 || info.Images != 512 || len(info.Classes) != 10 || info.Classes[7] != "Sneaker" {
		t.Fatalf("checkpoint info %+v %v", info, err)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	flat := filepath.Join(dir, "flat")
	os.Mkdir(flat, 0o755)
	os.WriteFile(filepath.Join(flat, "a.png"), []byte("not a png"), 0o644)
	plain := filepath.Join(dir, "plain") // images, no class sub-folders
	os.Mkdir(plain, 0o755)
	for i := range 40 {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8)))
		os.WriteFile(filepath.Join(plain, fmt.Sprintf("%02d.png", i)), buf.Bytes(), 0o644)
	}
	cases := []struct {
		name string
		edit func(*Options)
		want string
		is   func(error) bool // the error's type or sentinel, if it has one
	}{
		{"missing folder", func(o *Options) { o.Data = filepath.Join(dir, "nope") }, "nope", nil},
		{"empty folder", func(o *Options) { o.Data = empty }, "no images", nil},
		{"undecodable only", func(o *Options) { o.Data = flat }, "could be decoded", nil},
		{"bad size", func(o *Options) { o.Size = 48 }, "48", isOption("Size")},
		{"bad loss", func(o *Options) { o.Loss = "wgan" }, "wgan", isOption("Loss")},
		{"resume nothing", func(o *Options) { o.Resume = true }, "no checkpoint", isErr(ErrNoCheckpoint)},
		{"cdcgan without classes", func(o *Options) { o.Data = plain; o.Model = gan.CDCGAN }, "sub-folder", isErr(gan.ErrFewClasses)},
		{"no out", func(o *Options) { o.Out = "" }, "Out", isOption("Out")},
		{"r1 with batch norm", func(o *Options) { o.R1, o.SpectralNorm = 10, false }, "batch norm", isErr(ErrR1BatchNorm)},
		{"negative r1", func(o *Options) { o.R1, o.SpectralNorm = -1, true }, "R1", isOption("R1")},
		{"no length", func(o *Options) { o.Epochs, o.Minutes = 0, 0 }, "Epochs", isErr(ErrNoLength)},
		{"label smoothing", func(o *Options) { o.LabelSmoothing = 0.5 }, "0.5", isOption("LabelSmoothing")},
		{"lr-d", func(o *Options) { o.LRD = 0 }, "LRD", isOption("LRD")},
	}
	for _, c := range cases {
		o := small(filepath.Join(dir, "run-"+strings.ReplaceAll(c.name, " ", "-")))
		o.Data = empty
		o.Data = "fashion-mnist"
		c.edit(&o)
		_, err := Run(context.Background(), o, &quietUI{}, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
		if c.is != nil && !c.is(err) {
			t.Errorf("%s: error %v (%T) is not of the type or sentinel it should be", c.name, err, err)
		}
		if err != nil && strings.Contains(err.Error(), "--") {
			t.Errorf("%s: error %q names a flag (the CLI does)", c.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", c.name, err)
		}
	}
}

func TestEvenly(t *testing.T) {
	names := make([]string, 250)
	for i := range names {
		names[i] = string(rune('a' + i%26))
	}
	got := evenly(names, 100)
	if len(got) != 100 || got[0] != names[0] || got[99] != names[249] {
		t.Fatalf("evenly: %d frames, first %q last %q", len(got), got[0], got[99])
	}
	if len(evenly(names[:5], 100)) != 5 {
		t.Fatal("short lists must be kept whole")
	}
}

// A run shorter than one logging interval still ends with its last step in
// metrics.jsonl and a loss plot (issue 23, item 1).
func TestShortRunLogsLastStepAndPlots(t *testing.T) {
	needFashion(t)
	dir := filepath.Join(t.TempDir(), "run")
	o := small(dir)
	o.Epochs, o.LogEvery = 1, 50 // 8 steps, fewer than one interval
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil || len(ms) != 1 || ms[0].Step != 8 || ms[0].Epoch != 1 || ms[0].ImagesPerSec <= 0 {
		t.Fatalf("metrics of an 8-step run: %+v %v", ms, err)
	}
	if res.Losses != filepath.Join(dir, "losses.png") || res.Progress == "" {
		t.Fatalf("result names losses %q, progress %q", res.Losses, res.Progress)
	}
	for _, p := range []string{res.Losses, res.Progress} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("announced but missing: %v", err)
		}
	}
}

// A run stopped before its first step names no loss plot, since it has none.
func TestRunWithoutStepsAnnouncesNoPlot(t *testing.T) {
	needFashion(t)
	dir := filepath.Join(t.TempDir(), "run")
	o := small(dir)
	o.Minutes = 1e-9
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "time" || res.Images != 0 {
		t.Fatalf("result %+v", res)
	}
	if res.Losses != "" {
		t.Fatalf("result names %q", res.Losses)
	}
	if _, err := os.Stat(filepath.Join(dir, "losses.png")); err == nil {
		t.Fatal("a plot of no metrics")
	}
}

// Epochs 0 with a time limit trains until the clock (issue 23, item 2): more
// epochs than any default, stopped by time, and the run remembers it has
// no epoch count.
func TestUntilTheClock(t *testing.T) {
	needFashion(t)
	dir := filepath.Join(t.TempDir(), "run")
	o := small(dir)
	o.Limit, o.Epochs, o.Minutes = 64, 0, 0.02 // 2 steps an epoch, 1.2 s
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "time" || res.Epochs < 1 {
		t.Fatalf("result %+v", res)
	}
	f := readG(t, res.Checkpoint)
	var st State
	if err := json.Unmarshal([]byte(f.Metadata[gan.MetaTrain]), &st); err != nil || st.Options.Epochs != 0 {
		t.Fatalf("saved epochs %d (%v), want 0", st.Options.Epochs, err)
	}
	// Resumed without a new length: refused, saying the run trained until the clock.
	o.Resume, o.Minutes = true, 0
	if _, err := Run(context.Background(), o, &quietUI{}, nil); !errors.Is(err, ErrResumeNoLength) || !errors.Is(err, ErrNoLength) {
		t.Fatalf("resumed without a length: %v, want ErrResumeNoLength", err)
	}
	// Neither an epoch count nor a clock: refused.
	o2 := small(filepath.Join(t.TempDir(), "run2"))
	o2.Epochs = 0
	if _, err := Run(context.Background(), o2, &quietUI{}, nil); err == nil {
		t.Fatal("no epochs and no minutes accepted")
	}
}

// With both an epoch count and a clock, a run whose epochs end first says
// so at the start: at once when resuming (the saved pace).
func TestEpochsBeforeClockWarns(t *testing.T) {
	o := firstSession(t)
	o.Resume, o.Epochs, o.Minutes = true, 2, 30
	ui := &quietUI{}
	res, err := Run(context.Background(), o, ui, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "done" || len(ui.warnings) != 1 || !strings.Contains(ui.warnings[0], "epoch count stops this run") {
		t.Fatalf("stopped %q, warnings %q", res.Stopped, ui.warnings)
	}
	// Resumed with only a clock, the run trains past its old epoch count.
	o.Epochs, o.Minutes = 0, 0.02
	res, err = Run(context.Background(), o, &quietUI{}, nil)
	if err != nil || res.Stopped != "time" {
		t.Fatalf("resume until the clock: %+v %v", res, err)
	}
}

// TestResumeWithR1 checks that a run with the lazy R1 penalty resumes
// exactly: the penalty's schedule continues from the checkpoint.
func TestResumeWithR1(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	r1 := func(out string) Options {
		o := small(out)
		o.SpectralNorm, o.Loss, o.R1, o.R1Every = true, gan.LossHinge, 5, 3
		return o
	}
	straight, err := Run(context.Background(), r1(filepath.Join(dir, "a")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	end := stoppedAndResumed(t, r1(filepath.Join(dir, "b")), 4)
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "d.", "opt_d."} {
		sameTensors(t, a, b, p)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "a", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, m := range ms {
		seen = seen || m.R1 > 0
	}
	if !seen {
		t.Fatalf("no metrics line reports the R1 penalty: %+v", ms)
	}
}

// TestGreyWarning checks the grey-drift warning: samples with a fraction of
// the real images' contrast or colour warn once training is under way;
// samples like the real ones do not.
func TestGreyWarning(t *testing.T) {
	const per, n = 8 * 8 * 3, 16
	rng := rand.New(rand.NewPCG(1, 2))
	real := make([]float32, n*per)
	for i := range real {
		real[i] = float32(rng.Float64()*2 - 1)
	}
	washed := make([]float32, len(real))
	for i, v := range real {
		washed[i] = 0.3 * v // a third of the contrast and colour
	}
	grey := make([]float32, len(real))
	for i := 0; i < len(real); i += 3 {
		v := real[i] // full contrast, no colour
		grey[i], grey[i+1], grey[i+2] = v, v, v
	}
	for _, c := range []struct {
		name   string
		images []float32
		steps  int
		warns  bool
	}{
		{"like the real images", real, 1000, false},
		{"washed out", washed, 1000, true},
		{"colourless", grey, 1000, true},
		{"washed out at the start", washed, 100, false},
	} {
		ui := &quietUI{}
		r := &run{ui: ui, st: &State{TotalSteps: c.steps}, realTone: toneOf(real, per, 3)}
		r.checkTone(toneOf(c.images, per, 3))
		if got := len(ui.warnings) == 1 && ui.kinds[0] == WarnGrey && strings.Contains(ui.warnings[0], "grey"); got != c.warns {
			t.Errorf("%s: warnings %q, want a grey warning: %v", c.name, ui.warnings, c.warns)
		}
	}
}

// The D-wins warning comes once D's smoothed loss stays near 0 past the
// first 300 steps, once, and not for a balanced run or a short one; a
// resumed run (steps done before) is judged on its own steps.
func TestDWinsWarning(t *testing.T) {
	for _, c := range []struct {
		name   string
		lossD  float64
		before int // steps of the sessions before
		steps  int
		warns  bool
	}{
		{"D wins", 0.01, 0, 1000, true},
		{"balanced", 0.6, 0, 1000, false},
		{"D wins, but only for 300 steps", 0.01, 0, 300, false},
		{"resumed, balanced", 0.8, 16000, 200, false},
		{"resumed, D wins", 0.01, 16000, 200, true},
	} {
		ui := &quietUI{}
		r := &run{ui: ui, st: &State{TotalSteps: c.before}}
		for i := 0; i < c.steps; i++ {
			r.st.TotalSteps++
			r.checkBalance(gan.Stats{LossD: c.lossD, LossG: 5})
		}
		got := len(ui.kinds) == 1 && ui.kinds[0] == WarnDWins
		if got != c.warns || len(ui.kinds) > 1 {
			t.Errorf("%s: warnings %q (%v), want one D-wins warning: %v", c.name, ui.warnings, ui.kinds, c.warns)
		}
	}
}

// The collapse warning comes when the samples' diversity falls under a
// quarter of the real images' after the first 500 steps.
func TestCollapseWarning(t *testing.T) {
	for _, c := range []struct {
		name      string
		diversity float64
		steps     int
		warns     bool
	}{
		{"collapsed", 0.1, 1000, true},
		{"varied", 0.8, 1000, false},
		{"collapsed at the start", 0.1, 400, false},
	} {
		ui := &quietUI{}
		r := &run{ui: ui, st: &State{TotalSteps: c.steps}, realDiversity: 1}
		r.checkDiversity(c.diversity)
		r.checkDiversity(c.diversity) // given once a run
		got := len(ui.kinds) == 1 && ui.kinds[0] == WarnCollapse
		if got != c.warns || len(ui.kinds) > 1 {
			t.Errorf("%s: warnings %q (%v), want one collapse warning: %v", c.name, ui.warnings, ui.kinds, c.warns)
		}
	}
}

// TestAugmentChoice checks the automatic policy: a small data set trains
// with ADA, a large one without, an explicit --augment wins, and
// DiffAugment's probability reaches metrics.jsonl and the result.
func TestAugmentChoice(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name, augment string
		limit         int
		want          string
		p             float64
	}{
		{"small", "", 256, "ada", -1},
		{"large", "", 5000, "none", 0},
		{"explicit", "diffaugment", 256, "diffaugment", 1},
	} {
		o := small(filepath.Join(dir, c.name))
		o.Augment, o.Limit, o.Epochs = c.augment, c.limit, 1
		if c.limit > 256 {
			o.Minutes = 0.01 // a few steps are enough to see the choice
		}
		var log bytes.Buffer
		res, err := Run(context.Background(), o, &quietUI{}, &log)
		if err != nil {
			t.Fatal(err)
		}
		if res.Augment != c.want {
			t.Errorf("%s: augment %q, want %q", c.name, res.Augment, c.want)
		}
		if c.augment == "" && !strings.Contains(log.String(), "augment: "+c.want) {
			t.Errorf("%s: the run did not say which augmentation it chose: %q", c.name, log.String())
		}
		if c.p >= 0 && res.AugmentP != c.p {
			t.Errorf("%s: augment_p %g, want %g", c.name, res.AugmentP, c.p)
		}
		if c.want == "diffaugment" {
			ms, err := ReadMetrics(filepath.Join(dir, c.name, "metrics.jsonl"))
			if err != nil || len(ms) == 0 || ms[len(ms)-1].AugP != 1 {
				t.Errorf("%s: metrics %+v (%v), want aug_p 1", c.name, ms, err)
			}
		}
	}
}

// TestFromAndFreezeD checks transfer: a run --from another starts from its
// weights (with G's learning rate near 0 and all of D frozen, they come out
// unchanged), takes its shape where not given, and refuses a different one
// given (Given), naming it and the source's value.
func TestFromAndFreezeD(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	src, err := Run(context.Background(), small(filepath.Join(dir, "src")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := small(filepath.Join(dir, "tuned"))
	o.From, o.Epochs, o.Limit = filepath.Join(dir, "src"), 1, 128
	o.Size, o.NGF, o.NDF, o.NZ = 0, 0, 0, 0       // the source's
	o.MinibatchStd, o.DArch = true, gan.DArchDeep // not given: the source's
	o.LRG, o.FreezeD = 1e-30, 2
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 128 || !strings.HasPrefix(filepath.Base(res.Checkpoint), "1e_0k_28x28") {
		t.Errorf("fine-tuning result %+v: the checkpoint should count this run's images", res)
	}
	a, b := readG(t, src.Checkpoint), readG(t, res.Checkpoint)
	// Weights; batch norm's running statistics move with every batch.
	for _, prefix := range []string{"g.main.0.", "g.main.2.weight", "d.main.0.", "d.main.2.weight"} {
		sameTensors(t, a, b, prefix)
	}
	if _, cfg, err := gan.Open(res.Checkpoint); err != nil || cfg.Arch != gan.CDCGAN || cfg.MinibatchStd || cfg.DArch == gan.DArchDeep {
		t.Errorf("fine-tuned network %+v (%v), want the source's", cfg, err)
	}

	for _, c := range []struct {
		option string
		change func(*Options)
		text   string
	}{
		{"Size", func(o *Options) { o.Size = 32 }, `Size 32: the network of ` + src.Checkpoint + ` makes 28×28 images`},
		{"NGF", func(o *Options) { o.NGF = 16 }, "NGF 16: the network of " + src.Checkpoint + " has a generator width of 8"},
		{"Model", func(o *Options) { o.Model = gan.DCGAN }, `Model "dcgan": the network of ` + src.Checkpoint + " is a cdcgan"},
		{"MinibatchStd", func(o *Options) { o.MinibatchStd = true }, "MinibatchStd: the network of " + src.Checkpoint + " has no minibatch stddev in D"},
		{"SpectralNorm", func(o *Options) { o.SpectralNorm = true }, `SpectralNorm "spectral": the network of ` + src.Checkpoint + " has batch norm in D"},
		{"DArch", func(o *Options) { o.DArch = gan.DArchDeep }, `DArch "deep": the network of ` + src.Checkpoint + " has the dcgan discriminator"},
		{"GCond", func(o *Options) { o.GCond = gan.GCondEmbed }, `GCond "embed": the network of ` + src.Checkpoint + " conditions G on the class by onehot"},
	} {
		bad := small(filepath.Join(dir, "bad"))
		bad.From = src.Checkpoint
		c.change(&bad)
		bad.Given = []string{"LRG", "Loss", c.option} // the schedule is free
		bad.LRG, bad.Loss = 1e-4, gan.LossHinge
		var oe *OptionError
		if _, err := Run(context.Background(), bad, &quietUI{}, nil); !errors.As(err, &oe) || oe.Option != c.option || !errors.Is(err, ErrFromShape) || oe.Error() != "train: "+c.text {
			t.Errorf("from a run, given %s: %v, want %q wrapping ErrFromShape", c.option, err, "train: "+c.text)
		}
	}
	bad := small(filepath.Join(dir, "bad"))
	bad.From = filepath.Join(dir, "nope")
	if _, err := Run(context.Background(), bad, &quietUI{}, nil); err == nil {
		t.Error("--from a missing checkpoint: no error")
	}
}

// A small data set makes epochs of seconds (here 12 batches): their grids
// and checkpoints wait for the sample clock, and the last epoch still gets
// both.
func TestTinyEpochsSnapshotOnTheClock(t *testing.T) {
	needFashion(t)
	dir := filepath.Join(t.TempDir(), "run")
	o := small(dir)
	o.Limit, o.Batch, o.Epochs, o.SampleMinutes = 192, 16, 4, 1
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for e := 0; e <= 4; e++ {
		_, err := os.Stat(filepath.Join(dir, "samples", fmt.Sprintf("epoch_%03d.png", e)))
		if want := e == 0 || e == 4; (err == nil) != want {
			t.Errorf("epoch_%03d.png exists: %v, want %v", e, err == nil, want)
		}
	}
	ckpts, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*e_*.safetensors"))
	if len(ckpts) != 1 || filepath.Base(res.Checkpoint) != "4e_0k_28x28.safetensors" {
		t.Fatalf("checkpoints %v, result %s: want only the last epoch's", ckpts, res.Checkpoint)
	}
}

// isOption reports whether an error is an *OptionError about option.
func isOption(option string) func(error) bool {
	return func(err error) bool {
		var oe *OptionError
		return errors.As(err, &oe) && oe.Option == option
	}
}

// isErr reports whether an error is target.
func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// A session killed after logging past its last checkpoint leaves lines the
// resumed run writes again, and maybe half a line: resuming drops them, so
// the metrics' steps keep rising and the file still reads.
func TestTrimMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metrics.jsonl")
	if err := trimMetrics(path, 4); err != nil {
		t.Fatalf("no metrics yet: %v", err)
	}
	body := "{\"step\":2,\"loss_d\":1}\n{\"step\":4,\"loss_d\":1}\n{\"step\":6,\"loss_d\":1}\n{\"step\":8,\"lo"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := trimMetrics(path, 4); err != nil {
		t.Fatal(err)
	}
	ms, err := ReadMetrics(path)
	if err != nil || len(ms) != 2 || ms[0].Step != 2 || ms[1].Step != 4 {
		t.Fatalf("after trimming to step 4: %+v, %v", ms, err)
	}
	before, _ := os.Stat(path)
	if err := trimMetrics(path, 4); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
		t.Error("a file with nothing to drop was rewritten")
	}
}

// A resumed session's first metrics have the samples' tones: it measures
// its starting grid instead of waiting for the next one.
func TestResumedMetricsHaveTones(t *testing.T) {
	o := firstSession(t)
	before, err := ReadMetrics(runfolder.Metrics(o.Out))
	if err != nil || len(before) == 0 {
		t.Fatalf("metrics of the first session: %d lines, %v", len(before), err)
	}
	o.Resume, o.Epochs = true, 2
	if _, err := Run(context.Background(), o, &quietUI{}, nil); err != nil {
		t.Fatal(err)
	}
	all, err := ReadMetrics(runfolder.Metrics(o.Out))
	if err != nil || len(all) <= len(before) {
		t.Fatalf("metrics after resuming: %d lines (%d before), %v", len(all), len(before), err)
	}
	if m := all[len(before)]; m.Contrast == 0 || m.Colour == 0 && o.Channels == 3 {
		t.Errorf("the resumed session's first metrics %+v have no tones", m)
	}
}
