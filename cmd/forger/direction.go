package main

// forger direction learn and check: attribute directions in z, or a
// stylegan's W.

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
	"forger/picture"
)

func directionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "direction", Short: "Attribute directions in the latent space: learn them, measure edits along them"}
	cmd.AddCommand(directionLearnCmd(), directionCheckCmd())
	return cmd
}

func directionLearnCmd() *cobra.Command {
	var (
		model, attr, labelsCSV, clfPath, positive, out, class string
		space, layers                                         string
		orth                                                  []string
		samples                                               int
		seed                                                  int64
		lambda                                                float64
		asJSON, isolate                                       bool
		pf                                                    latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "learn --model CKPT --attribute NAME (--labels CSV | --judge CLASSIFIER) --out DIR.json",
		Short: "Learn the latent direction of an attribute by logistic regression on labelled latents",
		Long: `Learn the direction of an attribute in z: label latents, fit a logistic
regression (float64, Newton's method, L2 penalty --lambda) and save its unit
normal with its accuracy on a held-out fifth of the latents.

With --judge, --samples latents (seeds --seed, --seed+1, …) are generated
and labelled by the classifier (forger attribute train, or any judge with
--positive naming the class): probability above 0.5. When fewer than 5 of
them fall on one side (a young model that rarely draws the attribute), the
classifier's scores decide instead, as in InterFaceGAN: the latents with the
top 20% of the scores against those with the bottom 20%. With --labels, a
CSV of (seed, latent file or photo, label 0/1) rows; photos are projected
first.

--orthogonal-to removes other attributes' directions from the result, so
that editing along it keeps them (InterFaceGAN's conditional edit).

For a stylegan the direction is learned in W by default (--space w; --space z
for z): the latents are the seeds' w, and the file records "space": "w"
and "scale", the spread of the latents along the direction, which is the
step of an edit of strength 1 (in z the step is 1).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if attr == "" {
				return usagef("--attribute NAME is required")
			}
			if (labelsCSV == "") == (clfPath == "") {
				return usagef("give one of --labels CSV or --judge CLASSIFIER")
			}
			if out == "" {
				return usagef("--out DIR.json is required")
			}
			if samples < 10 || samples > 1_000_000 {
				return usagef("--samples must be between 10 and 1000000")
			}
			var others []*latent.Direction
			for _, p := range orth {
				d, err := latent.ReadDirection(p)
				if err != nil {
					return err
				}
				others = append(others, d)
			}
			g, err := latLoadAny(&model)
			if err != nil {
				return err
			}
			cfg := g.ModelConfig()
			k, err := latClassFlag(cfg, class)
			if err != nil {
				return err
			}
			sp, err := latDirectionSpace(g, space)
			if err != nil {
				return err
			}
			var isolated []int
			if isolate {
				if clfPath == "" || sp != latent.SpaceW || layers == "" || layers == "all" {
					return usagef("--isolate needs --judge, a direction in w and --layers (not all)")
				}
				if isolated, err = latent.ParseLayers(layers); err != nil {
					return usageError{err}
				}
				if err := latent.CheckLayers(cfg, isolated); err != nil {
					return usagef("--layers %s: %v", layers, err)
				}
			}
			var z []float32
			var y []bool
			var probs []float64
			labeller := clfPath
			if clfPath != "" {
				if _, err := os.Stat(clfPath); err != nil {
					return usagef("--judge %s: no such classifier (make one with: forger attribute train --data cartoon-faces --attribute %s --size %d --out %s)", clfPath, attr, cfg.Size, clfPath)
				}
				clf, err := latent.LoadClassifier(clfPath, positive)
				if err != nil {
					return err
				}
				bar := newBar(samples, "labelling", true)
				if isolate {
					z, _, probs, err = latent.SampleLabelledLayers(cmd.Context(), g, clf, samples, seed, isolated, func(done int) { bar.Set(done) })
				} else {
					z, _, probs, err = latent.SampleLabelledIn(cmd.Context(), g, sp, clf, samples, seed, k, func(done int) { bar.Set(done) })
				}
				bar.Finish()
				if err != nil {
					return err
				}
			} else {
				labeller = labelsCSV
				specs, labels, err := latent.ReadLabels(labelsCSV)
				if err != nil {
					return err
				}
				pf.space = sp
				codes, err := latResolveCodes(cmd.Context(), g, model, specs, k, &pf)
				if err != nil {
					return err
				}
				for i, c := range codes {
					if c, err = latent.ToSpace(g, c, sp); err != nil {
						return fmt.Errorf("%s: %w", specs[i], err)
					}
					codes[i] = c
				}
				for i, c := range codes {
					z = append(z, c.Z...)
					y = append(y, labels[i])
				}
			}
			var d *latent.Direction
			if probs != nil {
				// Too few of one label: the classifier's scores decide.
				d, err = latent.FitDirectionScores(z, probs, lambda)
				if errors.Is(err, latent.ErrScoresFlat) {
					return fmt.Errorf("%s gives all %d samples the same score for %s: check --judge and --positive, or train the model longer", clfPath, samples, attr)
				}
			} else {
				d, err = latent.FitDirection(z, y, lambda)
				if d != nil {
					d.Method = latent.MethodLabels
				}
			}
			if err != nil {
				return err
			}
			d.Attribute, d.Model, d.Labeller = attr, model, labeller
			if sp.IsW() {
				d.Space = sp
			}
			for _, o := range others {
				if o.Space.String() != sp.String() {
					return usagef("--orthogonal-to: the direction of %s is in %s, this one in %s", o.Attribute, o.Space, sp)
				}
			}
			if len(others) > 0 {
				if err := d.Orthogonalize(others...); err != nil {
					return err
				}
			}
			if sp.IsW() {
				d.SetScale(z)
			}
			if len(others) > 0 {
				// The fitted bias was the boundary's before the projection.
				side := y
				if probs != nil {
					side = make([]bool, len(probs))
					for i, p := range probs {
						side[i] = p > 0.5
					}
				}
				if err := d.PlaceBoundary(z, side); err != nil {
					return err
				}
			}
			if err := latLayers(cmd, layers, d, cfg); err != nil {
				return err
			}
			if err := d.CheckFor(cfg); err != nil {
				return err
			}
			if err := d.Write(out); err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"direction": out, "attribute": attr, "accuracy": d.Accuracy,
					"train_accuracy": d.TrainAccuracy, "samples": d.Samples, "positives": d.Positives, "bias": d.Bias,
					"method": d.Method, "score_fraction": d.ScoreFraction, "space": sp, "scale": d.Step()})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: held-out accuracy %.1f%% (train %.1f%%), %d of %d samples have it\n",
				attr, 100*d.Accuracy, 100*d.TrainAccuracy, d.Positives, d.Samples)
			if d.Method == latent.MethodScores {
				fmt.Fprintf(cmd.OutOrStdout(), "too few samples on one side of 0.5: learnt from the classifier's scores, the top %.0f%% against the bottom %.0f%% (accuracy is of telling those apart)\n",
					100*d.ScoreFraction, 100*d.ScoreFraction)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "direction: %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&attr, "attribute", "", "name of the attribute")
	f.StringVar(&labelsCSV, "labels", "", "CSV of (seed, latent file or photo, 0/1) rows")
	f.StringVar(&clfPath, "judge", "", "classifier that labels generated images (forger attribute train, or a judge)")
	f.StringVar(&positive, "positive", "", "--judge: the class that means the attribute (default: the attribute classifier's, or the last class)")
	f.IntVar(&samples, "samples", 2000, "--judge: latents to sample and label")
	f.Int64Var(&seed, "seed", 0, "--judge: first seed")
	f.StringVar(&class, "class", "", "class of conditional models (default: cycle through them)")
	f.StringSliceVar(&orth, "orthogonal-to", nil, "direction files to project out of the result")
	f.Float64Var(&lambda, "lambda", 1, "L2 penalty of the logistic regression")
	f.StringVar(&space, "space", "", "space of the direction: z, or w for a stylegan (default: z, w for a stylegan)")
	f.StringVar(&layers, "layers", "", layersHelp+"; kept in the direction file")
	f.StringVar(&out, "out", "", "direction file to write (.json)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.BoolVar(&isolate, "isolate", false, "with --judge and --layers: label images whose other layers take another seed's w, so the direction is what those layers do (not what w does everywhere)")
	pf.register(cmd, "project-")
	return cmd
}

// layersHelp is the help of --layers.
const layersHelp = "w: the stylegan layers an edit moves, e.g. 2-5 (0 the coarsest; all: every layer; default: the direction file's)"

// absoluteHelp is the help of --absolute.
const absoluteHelp = "a strength is the distance from the direction's boundary that each face is moved to (InterFaceGAN's edit), not a step"

// latLayers sets d.Layers from --layers when it was given ("all": every
// layer), checked against the model cfg.
func latLayers(cmd *cobra.Command, spec string, d *latent.Direction, cfg gan.Config) error {
	if !cmd.Flags().Changed("layers") {
		return nil
	}
	if spec == "all" {
		d.Layers = nil
		return nil
	}
	if d.Space != latent.SpaceW {
		return usagef("--layers: the direction is in %s; layers are a stylegan's, for directions in w", d.Space)
	}
	l, err := latent.ParseLayers(spec)
	if err != nil {
		return usageError{err}
	}
	if err := latent.CheckLayers(cfg, l); err != nil {
		return usagef("--layers %s: %v", spec, err)
	}
	d.Layers = l
	return nil
}

// latDirectionSpace parses direction learn's --space: z, or w for a
// stylegan ("" is w for a stylegan, z otherwise); W+ has no directions.
func latDirectionSpace(g gan.GeneratorNet, space string) (latent.Space, error) {
	if space == "" && g.ModelConfig().Arch == gan.StyleGAN {
		return latent.SpaceW, nil
	}
	sp, err := latSpaceFlag(g, space)
	if err != nil {
		return "", err
	}
	if sp == latent.SpaceWPlus {
		return "", usagef("--space w+: directions are learned in z or w (a W direction edits every layer of a W+ code)")
	}
	return sp, nil
}

// latParseWhere parses "male=1,hat=0".
func latParseWhere(spec string) (map[string]bool, error) {
	if spec == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || (v != "0" && v != "1") || k == "" {
			return nil, usagef("--where %q: want NAME=0|1[,NAME=0|1…]", spec)
		}
		out[k] = v == "1"
	}
	return out, nil
}

func directionCheckCmd() *cobra.Command {
	var (
		model, dirPath, clfDir, clfPath, where, out, class string
		failures                                           string
		space, layers                                      string
		preserve                                           []string
		n, maxTries                                        int
		strength                                           float64
		seed                                               int64
		asJSON, absolute                                   bool
	)
	cmd := &cobra.Command{
		Use:   "check --model CKPT --direction DIR.json --classifier-dir DIR [--strength 3] [-n 200]",
		Short: "Measure an edit: how often it adds the attribute, how often it keeps the others",
		Long: `Measure an edit along a direction: find -n generated faces (seeds from
--seed on) that the attribute's classifier says lack it (and match --where),
move each by --strength along the direction, and report the success rate
(the classifier now says they have it) and, for every other classifier, how
many keep their label. passed is success ≥ 80% and every other attribute
kept for ≥ 90%. A direction in W (direction learn --space w) edits the
seeds' w by strength × its scale.

--classifier-dir holds NAME.safetensors for each attribute (forger attribute
train); the direction's attribute is the target, --preserve picks the others
(default: all the others there).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dirPath == "" {
				return usagef("--direction DIR.json is required")
			}
			if clfDir == "" && clfPath == "" {
				return usagef("give --classifier-dir DIR (NAME.safetensors per attribute) or --classifier CLF")
			}
			if n < 1 || n > 100000 {
				return usagef("-n must be between 1 and 100000")
			}
			if strength == 0 || math.IsNaN(strength) || math.IsInf(strength, 0) {
				return usagef("--strength must be a number other than 0 (an edit of strength 0 changes nothing)")
			}
			if maxTries < 0 {
				return usagef("--max-tries must be ≥ 0 (0: 50·n)")
			}
			wh, err := latParseWhere(where)
			if err != nil {
				return err
			}
			d, err := latent.ReadDirection(dirPath)
			if err != nil {
				return err
			}
			g, err := latLoadAny(&model)
			if err != nil {
				return err
			}
			if space != "" && space != d.Space.String() {
				return usagef("--space %s: the direction %s is in %s", space, dirPath, d.Space)
			}
			if err := latLayers(cmd, layers, d, g.ModelConfig()); err != nil {
				return err
			}
			if err := d.CheckFor(g.ModelConfig()); err != nil {
				return usagef("%s: %v", dirPath, err)
			}
			k, err := latClassFlag(g.ModelConfig(), class)
			if err != nil {
				return err
			}
			clfs, err := latent.FindClassifiers(clfDir, clfPath, d.Attribute, preserve, wh)
			if errors.Is(err, latent.ErrNoClassifierDir) {
				return usagef("--preserve and --where need --classifier-dir")
			}
			if err != nil {
				return err
			}
			target, others, names := clfs.Target, clfs.Others, clfs.Names
			bar := newBar(n, "finding faces", true)
			res, err := latent.Check(cmd.Context(), g, d.Scaled(), target, others, latent.CheckOptions{N: n, Strength: strength, Seed: seed, Class: k,
				Where: wh, MaxTries: maxTries, Space: d.Space, Layers: d.Layers, Absolute: absolute, Bias: d.Bias, Progress: func(found, tried int) { bar.Set(found) }})
			bar.Finish()
			if err != nil {
				return err
			}
			cfg := g.ModelConfig()
			per := cfg.Size * cfg.Size * cfg.Channels
			// beforeAfter writes the faces idx (at most 16) before and after.
			beforeAfter := func(path string, idx []int) error {
				var before, after []float32
				for _, i := range idx[:min(len(idx), 16)] {
					before = append(before, res.Before[i*per:(i+1)*per]...)
					after = append(after, res.After[i*per:(i+1)*per]...)
				}
				tiles := append(latPictures(cfg, before, 64), latPictures(cfg, after, 64)...)
				return picture.WritePNG(path, picture.Grid(tiles, len(tiles)/2, 2, color.White))
			}
			if out != "" {
				first := make([]int, min(res.N, 16))
				for i := range first {
					first[i] = i
				}
				if err := beforeAfter(out, first); err != nil {
					return err
				}
			}
			if failures != "" && len(res.Failed) > 0 {
				if err := beforeAfter(failures, res.Failed); err != nil {
					return err
				}
			}
			if asJSON {
				return latPrintJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s at strength %g on %d faces without it (%d tried): success %.1f%% (bar %.0f%%)\n",
				res.Attribute, res.Strength, res.N, res.Tried, 100*res.SuccessRate, 100*latent.SuccessBar)
			for _, name := range names {
				fmt.Fprintf(w, "  %-10s kept %.1f%% (bar %.0f%%)\n", name, 100*res.Preserved[name], 100*latent.PreserveBar)
			}
			fmt.Fprintln(w, map[bool]string{true: "passed", false: "not passed"}[res.Passed])
			if out != "" {
				fmt.Fprintln(w, "before/after:", out)
			}
			if failures != "" {
				if len(res.Failed) > 0 {
					fmt.Fprintf(w, "failures (%d; the first %d before/after): %s\n", len(res.Failed), min(len(res.Failed), 16), failures)
				} else {
					fmt.Fprintln(w, "no failures:", failures, "not written")
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&dirPath, "direction", "", "direction file (forger direction learn)")
	f.StringVar(&clfDir, "classifier-dir", "", "folder of NAME.safetensors attribute classifiers")
	f.StringVar(&clfPath, "classifier", "", "the target attribute's classifier (default: --classifier-dir/ATTRIBUTE.safetensors)")
	f.StringSliceVar(&preserve, "preserve", nil, "attributes that must keep their labels (default: every other classifier in --classifier-dir)")
	f.StringVar(&where, "where", "", "only faces with these labels, e.g. male=1")
	f.Float64Var(&strength, "strength", 3, "edit strength s in z + s·d (in W, w + s·scale·d)")
	f.StringVar(&space, "space", "", "the direction's space, z or w, if you want it checked (the direction file says which)")
	f.StringVar(&layers, "layers", "", layersHelp)
	f.BoolVar(&absolute, "absolute", false, absoluteHelp)
	f.IntVarP(&n, "n", "n", 200, "faces to edit")
	f.IntVar(&maxTries, "max-tries", 0, "latents to try at most (default 50·n)")
	f.Int64Var(&seed, "seed", 1_000_000, "first seed (the default is apart from direction learn's)")
	f.StringVar(&class, "class", "", "class of conditional models (default: cycle through them)")
	f.StringVar(&out, "out", "", "also write a before/after grid of the first 16 faces (.png)")
	f.StringVar(&failures, "failures", "", "also write a before/after grid of the first 16 faces the edit did not give the attribute (.png; their seeds are the JSON's failed_seeds)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
