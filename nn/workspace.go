package nn

// Workspace is scratch memory that the convolutions of one network share for
// their column (im2col) matrices. Without it each convolution keeps its own,
// which for a 64×64 DCGAN costs about 130 MB per network; with it a network
// keeps one, the size of its largest, and each Conv2d recomputes its columns
// in Backward (cheap next to the matrix products). Layers sharing a
// workspace must not run concurrently, which holds within one network.
type Workspace struct {
	buf []float32
}

func (w *Workspace) get(n int) []float32 {
	if cap(w.buf) < n {
		w.buf = make([]float32, n)
	}
	return w.buf[:n]
}

// ShareWorkspace makes the convolutions in layers (and in their sub-layers)
// use ws.
func ShareWorkspace(ws *Workspace, layers ...Layer) {
	for _, l := range layers {
		switch l := l.(type) {
		case *Sequential:
			ShareWorkspace(ws, l.Layers...)
		case *SpectralNorm:
			ShareWorkspace(ws, l.Inner)
		case *Residual:
			ShareWorkspace(ws, l.Body)
			if l.Shortcut != nil {
				ShareWorkspace(ws, l.Shortcut)
			}
		case *Conv2d:
			l.WS = ws
		case *ConvTranspose2d:
			l.WS = ws
		}
	}
}
