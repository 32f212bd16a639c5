package picture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"io"
	"time"

	"forger/internal/atomicfile"
)

// GIFOptions controls EncodeGIF.
type GIFOptions struct {
	// Delay is how long each frame is shown. GIF stores delays in units of
	// 10ms, so Delay is rounded to that. Zero means 100ms. Delays below
	// 20ms are raised to 20ms, because browsers play such frames at
	// 100ms instead, which would make a "fast" animation slow.
	Delay time.Duration

	// Loop makes viewers repeat the animation forever; otherwise it plays
	// once and stops on the last frame.
	Loop bool

	// Dither enables Floyd–Steinberg error diffusion when colour frames
	// have more colours than the palette holds. Dithering hides banding in
	// smooth gradients but, because the error pattern differs from frame
	// to frame, can make otherwise still areas flicker, so it is off by
	// default. It has no effect on gray frames, which are stored exactly.
	Dither bool
}

// gifDelay converts d to GIF's centiseconds as documented on
// GIFOptions.Delay.
func gifDelay(d time.Duration) int {
	if d == 0 {
		return 10
	}
	cs := int((d + 5*time.Millisecond) / (10 * time.Millisecond))
	return max(cs, 2)
}

// EncodeGIF writes frames to w as an animated GIF.
//
// All frames must have the same size. They share one global palette
// built from the colours of all frames together, so a colour keeps the
// same palette entry throughout and the animation does not shimmer: gray
// frames (*image.Gray, or colour frames whose pixels are all gray) use
// all 256 gray levels and are stored exactly; colour frames with at most
// 256 distinct colours are stored exactly; other colour frames are
// reduced to 256 colours by median cut refined with k-means, which gives
// a mean squared error around a tenth of a fixed palette's (Plan9) on
// smooth images. Transparency is composited over black.
func EncodeGIF(w io.Writer, frames []image.Image, opts GIFOptions) error {
	if err := encodeGIF(context.Background(), w, frames, opts); err != nil {
		return fmt.Errorf("picture: encode GIF: %w", err)
	}
	return nil
}

// encodeGIF is EncodeGIF; it stops with ctx's error between frames once
// ctx is done.
func encodeGIF(ctx context.Context, w io.Writer, frames []image.Image, opts GIFOptions) error {
	if len(frames) == 0 {
		return errors.New("no frames")
	}
	size := frames[0].Bounds().Size()
	if size.X <= 0 || size.Y <= 0 {
		return fmt.Errorf("empty frame (%dx%d)", size.X, size.Y)
	}
	if size.X > 0xffff || size.Y > 0xffff {
		return fmt.Errorf("frame too large for GIF (%dx%d)", size.X, size.Y)
	}
	for i, f := range frames {
		if s := f.Bounds().Size(); s != size {
			return fmt.Errorf("frame %d is %dx%d, frame 0 is %dx%d",
				i, s.X, s.Y, size.X, size.Y)
		}
	}

	q := newQuantizer(frames, 256)
	g := &gif.GIF{
		Image: make([]*image.Paletted, len(frames)),
		Delay: make([]int, len(frames)),
		Config: image.Config{
			ColorModel: q.palette, // written once as the global colour table
			Width:      size.X,
			Height:     size.Y,
		},
		LoopCount: -1,
	}
	if opts.Loop {
		g.LoopCount = 0
	}
	delay := gifDelay(opts.Delay)
	for i, f := range frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		if opts.Dither {
			g.Image[i] = q.dithered(f)
		} else {
			g.Image[i] = q.paletted(f)
		}
		g.Delay[i] = delay
	}
	return gif.EncodeAll(w, g)
}

// WriteGIF atomically writes frames to path as an animated GIF showing
// each frame for delay and, if loop is set, repeating forever. See
// EncodeGIF for how colours are chosen; dithering is off.
func WriteGIF(path string, frames []image.Image, delay time.Duration, loop bool) error {
	return writeGIF(context.Background(), path, frames, delay, loop)
}

func writeGIF(ctx context.Context, path string, frames []image.Image, delay time.Duration, loop bool) error {
	if len(frames) == 0 {
		// Checked here too so that no file is created.
		return fmt.Errorf("picture: write %s: no frames", path)
	}
	opts := GIFOptions{Delay: delay, Loop: loop}
	err := atomicfile.Write(path, func(w io.Writer) error {
		return encodeGIF(ctx, w, frames, opts)
	})
	if err != nil {
		return fmt.Errorf("picture: write %s: %w", path, err)
	}
	return nil
}
