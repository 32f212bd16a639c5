package picture

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os/exec"
	"strconv"
	"strings"

	"forger/internal/atomicfile"
)

// ErrNoFFmpeg is returned (wrapped) by WriteMP4 when no ffmpeg program is
// found in PATH.
var ErrNoFFmpeg = errors.New("ffmpeg not found: install it (apt-get install ffmpeg) or write a .gif")

// WriteMP4 atomically writes frames to path as an H.264 MP4 video playing
// at fps frames per second. Video is far smaller than GIF for long or
// colourful animations and has no palette limit.
//
// It runs the ffmpeg program from PATH, streaming the frames to it as PNG
// images (losslessly) through a pipe. The video uses the yuv420p pixel
// format, which browsers and players expect; since that format needs even
// dimensions, odd-sized frames are padded by one black row or column.
// All frames must have the same size. If ffmpeg is not installed the
// error wraps ErrNoFFmpeg; if it fails, the error includes the end of its
// diagnostic output.
func WriteMP4(path string, frames []image.Image, fps int) error {
	if err := writeMP4(context.Background(), path, frames, fps); err != nil {
		return fmt.Errorf("picture: write %s: %w", path, err)
	}
	return nil
}

func writeMP4(ctx context.Context, path string, frames []image.Image, fps int) error {
	if len(frames) == 0 {
		return errors.New("no frames")
	}
	if fps <= 0 {
		return fmt.Errorf("invalid frame rate %d", fps)
	}
	size := frames[0].Bounds().Size()
	if size.X <= 0 || size.Y <= 0 {
		return fmt.Errorf("empty frame (%dx%d)", size.X, size.Y)
	}
	allGray := true
	for i, f := range frames {
		if s := f.Bounds().Size(); s != size {
			return fmt.Errorf("frame %d is %dx%d, frame 0 is %dx%d", i, s.X, s.Y, size.X, size.Y)
		}
		if _, ok := f.(*image.Gray); !ok {
			allGray = false
		}
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return ErrNoFFmpeg
	}
	return atomicfile.WriteVia(path, func(tmp string) error {
		return runFFmpeg(ctx, ffmpeg, tmp, frames, fps, allGray)
	})
}

// runFFmpeg encodes frames into the MP4 file out.
func runFFmpeg(ctx context.Context, ffmpeg, out string, frames []image.Image, fps int, allGray bool) error {
	cmd := exec.CommandContext(ctx, ffmpeg,
		"-hide_banner", "-loglevel", "error",
		"-y", // out exists: it is the empty temporary file
		"-f", "image2pipe", "-framerate", strconv.Itoa(fps), "-c:v", "png", "-i", "pipe:0",
		"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "18",
		"-movflags", "+faststart",
		"-f", "mp4", out,
	)
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ffmpeg: %w", err)
	}

	// Send every frame in the same PNG colour type, so that ffmpeg sees
	// one pixel format throughout the stream. Compression would only cost
	// time: the PNGs never leave the pipe.
	enc := png.Encoder{CompressionLevel: png.NoCompression}
	bw := bufio.NewWriterSize(stdin, 256<<10)
	var writeErr error
	for _, f := range frames {
		if writeErr = ctx.Err(); writeErr != nil {
			break
		}
		if !allGray {
			f = asNRGBA(f)
		}
		if writeErr = enc.Encode(bw, f); writeErr != nil {
			break // ffmpeg probably exited; its stderr says why
		}
	}
	if writeErr == nil {
		writeErr = bw.Flush()
	}
	closeErr := stdin.Close()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("ffmpeg: %w: %s", err, msg)
		}
		return fmt.Errorf("ffmpeg: %w", err)
	}
	if writeErr != nil {
		return fmt.Errorf("ffmpeg: writing frames: %w", writeErr)
	}
	if closeErr != nil {
		return fmt.Errorf("ffmpeg: %w", closeErr)
	}
	return nil
}

// asNRGBA returns m as an *image.NRGBA, converting it if necessary.
func asNRGBA(m image.Image) *image.NRGBA {
	if n, ok := m.(*image.NRGBA); ok {
		return n
	}
	b := m.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Bounds(), m, b.Min, draw.Src)
	return n
}

// tailBuffer is an io.Writer that keeps only the last max bytes written,
// enough to report why a chatty subprocess failed.
type tailBuffer struct {
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf.Reset()
		p = p[len(p)-t.max:]
	} else if over := t.buf.Len() + len(p) - t.max; over > 0 {
		t.buf.Next(over)
	}
	t.buf.Write(p)
	return n, nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
