package dataset

import (
	"bytes"
	"testing"
)

// FuzzReadIDX: whatever the bytes (raw or gzip), an IDX images or labels
// file is read or refused with an error, never a panic, and what is read
// holds exactly the items the header announces (or the limit).
func FuzzReadIDX(f *testing.F) {
	images := idxBytes(idxImagesMagic, []uint32{2, 3, 2}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
	f.Add(images, true, 0)
	f.Add(images, true, 1)
	f.Add(gzipBytes(images), true, 0)
	f.Add(idxBytes(idxLabelsMagic, []uint32{3}, []byte{0, 2, 1}), false, 0)
	f.Add(idxBytes(idxImagesMagic, []uint32{1 << 30, 1 << 12, 1 << 12}, nil), true, 0)
	f.Add(idxBytes(idxImagesMagic, []uint32{5, 0, 7}, nil), true, 0)
	f.Fuzz(func(t *testing.T, data []byte, isImages bool, limit int) {
		magic := uint32(idxLabelsMagic)
		if isImages {
			magic = idxImagesMagic
		}
		dims, pix, err := decodeIDX(bytes.NewReader(data), "fuzz", magic, limit)
		if err != nil {
			return
		}
		if want := int(magic & 0xff); len(dims) != want {
			t.Fatalf("%d dimensions, want %d", len(dims), want)
		}
		item := 1
		for _, d := range dims[1:] {
			item *= d
		}
		n := dims[0]
		if limit > 0 && limit < n {
			n = limit
		}
		if len(pix) != n*item {
			t.Fatalf("%d bytes for %d items of %d", len(pix), n, item)
		}
	})
}
