package picture

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"strings"
	"time"

	"forger/internal/atomicfile"
)

// WritePNG atomically writes img to path as a PNG, creating the parent
// directory if needed. Readers of path see either the previous file or
// the complete new one.
func WritePNG(path string, img image.Image) error {
	err := atomicfile.Write(path, func(w io.Writer) error {
		return png.Encode(w, img)
	})
	if err != nil {
		return fmt.Errorf("picture: write %s: %w", path, err)
	}
	return nil
}

// WriteAnimation writes frames to path as an animation playing at fps
// frames per second, choosing the format by the extension of path:
// ".gif" (looping; see WriteGIF) or ".mp4" (see WriteMP4). GIF stores
// delays in 10ms units, so GIF frame rates are approximate, and rates
// above 50 fps are slowed to 50. Once ctx is done it stops, writes
// nothing and returns ctx's error.
func WriteAnimation(ctx context.Context, path string, frames []image.Image, fps int) error {
	if fps <= 0 {
		return fmt.Errorf("picture: write %s: invalid frame rate %d", path, fps)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".gif":
		return writeGIF(ctx, path, frames, time.Second/time.Duration(fps), true)
	case ".mp4":
		if err := writeMP4(ctx, path, frames, fps); err != nil {
			return fmt.Errorf("picture: write %s: %w", path, err)
		}
		return nil
	default:
		return fmt.Errorf("picture: write %s: unsupported animation format %q (want .gif or .mp4)", path, ext)
	}
}
