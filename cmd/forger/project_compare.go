package main

// forger project --compare-init and --compare-loss: the measurement is
// latent.Comparison's; this file wires the projection flags into it and
// prints its reports.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
)

// latComparison sets up the targets of a comparison (n held-out generated
// images from seed on, then the photos) and projects them with pf, changed
// by what each run asks for.
func latComparison(g gan.GeneratorNet, model string, class int, out string, n int, seed int64, photos []string, pf latProjectFlags) (*latent.Comparison, error) {
	c, err := latent.NewComparison(g, n, seed, class, photos)
	if err != nil {
		return nil, err
	}
	c.Out = out
	c.Project = func(ctx context.Context, init string, steps int, loss, features, desc string) (*latent.Projection, error) {
		pf := pf
		pf.steps = steps
		if init != "" {
			pf.init = init
		}
		if loss != "" {
			pf.loss = loss
		}
		if features != "" {
			pf.features = features
		}
		pr, err := pf.setup(g, model)
		if err != nil {
			return nil, err
		}
		return pr.run(ctx, c.Targets, c.Classes, 0, desc)
	}
	return c, nil
}

// latCompareInits runs --compare-init and prints its report.
func latCompareInits(cmd *cobra.Command, g gan.GeneratorNet, model string, class int, out string, n int, seed int64, photos []string, pf latProjectFlags, asJSON bool) error {
	if pf.encoder == "" {
		return usagef("--compare-init needs --encoder ENC")
	}
	c, err := latComparison(g, model, class, out, n, seed, photos, pf)
	if err != nil {
		return err
	}
	rep, err := c.Inits(cmd.Context(), pf.steps, pf.loss, pf.lr, pf.encoderLR())
	if err != nil {
		return err
	}
	if asJSON {
		return latPrintJSON(cmd, rep)
	}
	steps, short := rep.Steps, rep.ShortSteps
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%-24s %4s %11s %11s %11s %11s %6s %6s\n", "IMAGES", "N", "MEAN@"+strconv.Itoa(steps), "ENC@0", "ENC@"+strconv.Itoa(steps), "ENC"+strconv.Itoa(short)+"@END", "STEPS", "BELOW")
	for _, gr := range rep.Groups {
		fmt.Fprintf(w, "%-24s %4d %11.4g %11.4g %11.4g %11.4g %6d %6d\n", gr.Name, gr.Images, gr.MeanFinal, gr.EncInitial, gr.EncFinal, gr.ShortFinal, gr.StepsToMean, gr.ImagesPassed)
	}
	fmt.Fprintf(w, "STEPS: steps encoder init takes to reach MEAN@%d on the same schedule; ENC%d@END: a %d-step projection from the encoder; BELOW: images it leaves at or below their own MEAN@%d\n", steps, short, short, steps)
	fmt.Fprintf(w, "%d steps from the encoder reach what %d from the mean reach: %s\n", short, steps, map[bool]string{true: "passed", false: "not passed"}[rep.Passed])
	fmt.Fprintf(w, "%d of %d groups reach it within %d steps of the same schedule\n", rep.GroupsWithinFifth, len(rep.Groups), short)
	fmt.Fprintln(w, "plots:", strings.Join(rep.Plots, " "))
	return nil
}

// latCompareLosses runs --compare-loss with the --variants spec and prints
// its report.
func latCompareLosses(cmd *cobra.Command, g *gan.Generator, model string, class int, out string, n int, seed int64, photos []string, pf latProjectFlags, variants string, asJSON bool) error {
	c, err := latComparison(g, model, class, out, n, seed, photos, pf)
	if err != nil {
		return err
	}
	vs, err := latent.ParseLossVariants(variants, latDefaultProjectFeatures)
	if err != nil {
		return usageError{err}
	}
	rep, err := c.Losses(cmd.Context(), vs, pf.steps, func(name string) (latent.Features, error) { return pf.featuresFor(name, model, g.Cfg) })
	if err != nil {
		return err
	}
	if asJSON {
		return latPrintJSON(cmd, rep)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "%-18s %12s %10s", "VARIANT", "PIXEL(gen)", "Z-DIST")
	for _, m := range rep.Metrics {
		fmt.Fprintf(w, " %12s", "FEAT-"+m)
	}
	if len(photos) > 0 {
		fmt.Fprintf(w, " %12s", "PIXEL(photo)")
		for _, m := range rep.Metrics {
			fmt.Fprintf(w, " %12s", "PFEAT-"+m)
		}
	}
	fmt.Fprintf(w, " %8s\n", "SECONDS")
	for _, r := range rep.Variants {
		fmt.Fprintf(w, "%-18s %12.4g %10.3g", r.Variant, r.PixelGen, r.ZDist)
		for _, m := range rep.Metrics {
			fmt.Fprintf(w, " %12.4g", r.Feat[m])
		}
		if len(photos) > 0 {
			fmt.Fprintf(w, " %12.4g", r.PixelPhotos())
			for _, m := range rep.Metrics {
				fmt.Fprintf(w, " %12.4g", r.FeatPh[m])
			}
		}
		fmt.Fprintf(w, " %8.1f\n", r.Seconds)
	}
	fmt.Fprintln(w, "plot:", rep.Plot)
	return nil
}
