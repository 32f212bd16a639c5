package picture

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"forger/internal/atomicfile"
)

// Size of the images written by PlotLines, in pixels: 16:9, readable on
// a laptop screen and in a README.
const (
	plotWidth  = 800
	plotHeight = 450
	plotDPI    = 96
)

// A Series is one named line of a plot, such as the discriminator loss
// over training steps.
type Series struct {
	Name string    // legend label; empty means no legend entry
	X, Y []float64 // X nil means 0, 1, 2, ...
}

// PlotLines atomically writes an 800×450 PNG line plot of series to path,
// with a title, axis labels, a light grid and a legend. Each series gets
// its own colour. It is meant for training curves: GAN losses, D(x) and
// D(G(z)), projection losses.
//
// Non-finite values (NaN, ±Inf, as produced by a diverging run) are not
// plotted: the line breaks at them, so the rest of the curve is still
// shown. It is an error for X to be non-nil and differ in length from Y.
func PlotLines(path string, title, xlabel, ylabel string, series []Series) error {
	b, err := renderLines(title, xlabel, ylabel, series)
	if err == nil {
		err = atomicfile.WriteBytes(path, b)
	}
	if err != nil {
		return fmt.Errorf("picture: write %s: %w", path, err)
	}
	return nil
}

// renderLines draws the plot described by PlotLines and returns it as PNG
// bytes. Rendering fully before writing means a failed plot never
// touches the file.
func renderLines(title, xlabel, ylabel string, series []Series) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = niceTicks(7)
	p.Y.Tick.Marker = niceTicks(6)
	grid := plotter.NewGrid()
	grid.Vertical.Color = gridColor
	grid.Horizontal.Color = gridColor
	p.Add(grid)

	// The legend is drawn beside the plot rather than over it: training
	// curves start high on the left and end high or low on the right, so
	// there is no corner a legend could be trusted to keep clear.
	legend := plot.NewLegend()
	legend.Left = true
	legend.Top = true
	entries := 0
	for i, s := range series {
		if s.X != nil && len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("plot: series %d (%q): len(X) = %d, len(Y) = %d",
				i, s.Name, len(s.X), len(s.Y))
		}
		style := draw.LineStyle{Color: plotutil.Color(i), Width: vg.Points(1.5)}
		var first *plotter.Line
		for _, seg := range segments(s.X, s.Y) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, fmt.Errorf("plot: series %d (%q): %w", i, s.Name, err)
			}
			l.LineStyle = style
			p.Add(l)
			if first == nil {
				first = l
			}
		}
		if s.Name != "" {
			if first == nil {
				// No plottable points: still list the series, so a
				// missing curve is noticed rather than silently absent.
				first = &plotter.Line{LineStyle: style}
			}
			legend.Add(s.Name, first)
			entries++
		}
	}

	img := image.NewRGBA(image.Rect(0, 0, plotWidth, plotHeight))
	c := vgimg.NewWith(vgimg.UseImage(img), vgimg.UseDPI(plotDPI))
	dc := draw.New(c)
	if entries > 0 {
		const gap = 8 // points between the plot and the legend, and at the edge
		r := legend.Rectangle(dc)
		w := r.Max.X - r.Min.X + 2*gap
		var top vg.Length = gap
		if title != "" {
			top += p.Title.TextStyle.Rectangle(title).Size().Y + p.Title.Padding
		}
		legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-w+gap, -gap, 0, -top))
		dc = draw.Crop(dc, 0, -w, 0, 0)
	}
	p.Draw(dc)

	var buf bytes.Buffer
	if err := png.Encode(&buf, c.Image()); err != nil {
		return nil, fmt.Errorf("plot: %w", err)
	}
	return buf.Bytes(), nil
}

// niceTicks returns a tick marker with about n labelled ticks at "nice"
// intervals (1, 2, 2.5 or 5 times a power of ten), labelled with just
// the digits the interval needs: 0, 500, 1000 rather than gonum's
// default of 0.00, 2500.00 with few labels.
func niceTicks(n int) plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		if !(hi > lo) || math.IsInf(hi-lo, 0) {
			return plot.DefaultTicks{}.Ticks(lo, hi)
		}
		raw := (hi - lo) / float64(n)
		mag := math.Pow(10, math.Floor(math.Log10(raw)))
		step := 10 * mag
		for _, m := range []float64{1, 2, 2.5, 5} {
			if m*mag >= raw {
				step = m * mag
				break
			}
		}
		// Decimal places the step needs: 0.25 needs 2, 500 needs 0.
		prec := 0
		for d := step; prec < 15 && math.Abs(d-math.Round(d)) > 1e-9*step; d *= 10 {
			prec++
		}
		var ticks []plot.Tick
		for k := math.Ceil(lo/step - 1e-9); k*step <= hi+1e-9*step; k++ {
			v := k * step
			if v == 0 {
				v = 0 // avoid "-0"
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', prec, 64)})
		}
		return ticks
	})
}

// gridColor is a light gray that guides the eye without competing with
// the data.
var gridColor = color.Gray{Y: 0xdd}

// segments splits the points (x[i], y[i]) into runs of finite values,
// breaking at any point with a NaN or infinite coordinate. A nil x means
// x[i] = i.
func segments(x, y []float64) []plotter.XYs {
	var segs []plotter.XYs
	var cur plotter.XYs
	for i, yv := range y {
		xv := float64(i)
		if x != nil {
			xv = x[i]
		}
		if math.IsNaN(xv) || math.IsInf(xv, 0) || math.IsNaN(yv) || math.IsInf(yv, 0) {
			if len(cur) > 0 {
				segs = append(segs, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, plotter.XY{X: xv, Y: yv})
	}
	if len(cur) > 0 {
		segs = append(segs, cur)
	}
	return segs
}
