package lookalike

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sort"
	"sync"

	"forger/face"
	"forger/face/facedb"
	"forger/internal/priority"
	"forger/store"
	"forger/studio"
)

// candidate is one face of the gallery: a row of the face index or a
// studio gallery entry.
type candidate struct {
	key   string // its photo's key in the face cache
	id    string // the studio entry's id, or "index:" and a hash of the photo's path
	name  string // the person
	photo string // the photo file
	desc  face.Descriptor
}

// galleryFace is a gallery photo's face, ready to show and to project.
type galleryFace struct {
	key     string
	aligned image.Image // AlignSize², forger face align's layout
	target  []float32   // framed for the face GAN; nil without one
}

// entryDesc is the cached descriptor of a studio gallery entry; ok is
// false when its photo has no usable face (it is then left out).
type entryDesc struct {
	desc face.Descriptor
	ok   bool
}

// gallery is where Match looks: the face index (re-read when its file
// changes) and the studio's gallery entries, whose descriptors are
// computed the first time they are needed and kept.
type gallery struct {
	index   string
	st      *store.Store
	dataDir string
	log     *slog.Logger
	// target frames a face for the face GAN (nil without one).
	target func(src image.Image, f *face.Face) []float32

	mu         sync.Mutex
	indexStamp string
	indexCands []candidate
	entries    map[string]entryDesc // by entry id
	faces      *faceCache
}

func newGallery(cfg Config, log *slog.Logger) (*gallery, error) {
	g := &gallery{index: cfg.Index, st: cfg.Store, dataDir: cfg.DataDir, log: log,
		entries: map[string]entryDesc{}, faces: newFaceCache(64)}
	if g.index != "" {
		db, err := facedb.OpenExisting(context.Background(), g.index)
		if err != nil {
			return nil, fmt.Errorf("gallery index: %w", err)
		}
		db.Close()
	}
	return g, nil
}

// describe says what the gallery holds.
func (g *gallery) describe() string {
	s := ""
	if g.index != "" {
		s = "index " + g.index
		if db, err := facedb.OpenExisting(context.Background(), g.index); err == nil {
			if rows, people, err := db.Count(context.Background()); err == nil {
				s += fmt.Sprintf(" (%d faces of %d people)", rows, people)
			}
			db.Close()
		}
	}
	if g.st != nil {
		if s != "" {
			s += " + "
		}
		s += "the studio's gallery"
		if entries, err := g.st.Gallery(context.Background()); err == nil {
			s += fmt.Sprintf(" (%d photos)", len(entries))
		}
	}
	if s == "" {
		s = "none (no face index, and no studio store to add photos to)"
	}
	return s
}

// candidates lists the gallery's faces.
func (g *gallery) candidates(ctx context.Context, nets *faceNets) ([]candidate, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []candidate
	if g.index != "" {
		if err := g.loadIndex(ctx); err != nil {
			return nil, err
		}
		out = append(out, g.indexCands...)
	}
	if g.st != nil {
		entries, err := g.st.Gallery(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the gallery: %w", err)
		}
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.ID] = true
			path, ok := studio.GalleryPhotoPath(g.dataDir, e)
			if !ok {
				continue
			}
			ed, ok := g.entries[e.ID]
			if !ok {
				if err := priority.Checkpoint(ctx); err != nil {
					return nil, err
				}
				var err error
				if ed, err = g.describeEntry(nets, e, path); err != nil {
					g.log.Warn("look-alike: a gallery photo cannot be read; left out for now", "id", e.ID, "name", e.Name, "err", err)
					continue
				}
				g.entries[e.ID] = ed
			}
			if ed.ok {
				out = append(out, candidate{key: "entry:" + e.ID, id: e.ID, name: e.Name, photo: path, desc: ed.desc})
			}
		}
		for id := range g.entries { // deleted entries
			if !seen[id] {
				delete(g.entries, id)
			}
		}
	}
	return out, nil
}

// loadIndex (re)reads the face index when its file has changed.
func (g *gallery) loadIndex(ctx context.Context) error {
	st, err := os.Stat(g.index)
	if err != nil {
		return fmt.Errorf("the face index: %w", err)
	}
	stamp := fmt.Sprint(st.ModTime().UnixNano(), " ", st.Size())
	if stamp == g.indexStamp {
		return nil
	}
	db, err := facedb.OpenExisting(ctx, g.index)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Rows(ctx)
	if err != nil {
		return fmt.Errorf("reading the face index %s: %w", g.index, err)
	}
	cands := make([]candidate, len(rows))
	for i, r := range rows {
		cands[i] = candidate{key: "file:" + r.File, id: "index:" + shortHash(r.File), name: r.Name, photo: r.File, desc: r.Descriptor}
	}
	g.indexCands, g.indexStamp = cands, stamp
	g.faces.clear() // the photos may have changed with the index
	return nil
}

// describeEntry computes a studio gallery entry's descriptor as forger face
// index would (and keeps its face for showing). A photo without a usable
// face gives ok = false; an unreadable one an error (tried again later).
func (g *gallery) describeEntry(nets *faceNets, e store.GalleryEntry, path string) (entryDesc, error) {
	img, err := face.LoadImage(path)
	if err != nil {
		return entryDesc{}, err
	}
	gf, f, src, err := g.faceOf(nets, "entry:"+e.ID, img)
	if err != nil {
		g.log.Warn("look-alike: no usable face in a gallery photo; it is left out", "id", e.ID, "name", e.Name, "err", err)
		return entryDesc{}, nil
	}
	g.faces.add(gf)
	return entryDesc{desc: nets.desc.EmbedFaceUpright(src, &f.Landmarks), ok: true}, nil
}

// faceOf finds the largest face of a gallery photo and makes its
// galleryFace.
func (g *gallery) faceOf(nets *faceNets, key string, img image.Image) (*galleryFace, *face.Face, image.Image, error) {
	f, src := nets.det.LargestFace(img)
	if f == nil {
		return nil, nil, nil, face.ErrNoFace
	}
	if !f.EyesOK {
		return nil, nil, nil, errors.New("eyes not found: " + f.Problem)
	}
	gf := &galleryFace{key: key, aligned: face.Align(src, f.LeftEye, f.RightEye, AlignSize, face.EdgeReplicate)}
	if g.target != nil {
		gf.target = g.target(src, f)
	}
	return gf, f, src, nil
}

// face returns the face of a candidate's photo, from the cache when it was
// made recently.
func (g *gallery) face(nets *faceNets, c candidate) (*galleryFace, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if gf := g.faces.get(c.key); gf != nil {
		return gf, nil
	}
	img, err := face.LoadImage(c.photo)
	if err != nil {
		return nil, err
	}
	gf, _, _, err := g.faceOf(nets, c.key, img)
	if err != nil {
		return nil, err
	}
	g.faces.add(gf)
	return gf, nil
}

// ranked is a person and their distance: that of their nearest face.
type ranked struct {
	cand candidate
	dist float64
}

// rank returns one entry per person (name), nearest first (ties by name).
func rank(cands []candidate, q face.Descriptor) []ranked {
	byName := map[string]ranked{}
	for _, c := range cands {
		d := q.Distance(c.desc)
		if r, ok := byName[c.name]; !ok || d < r.dist {
			byName[c.name] = ranked{cand: c, dist: d}
		}
	}
	out := make([]ranked, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].dist != out[j].dist {
			return out[i].dist < out[j].dist
		}
		return out[i].cand.name < out[j].cand.name
	})
	return out
}

// faceCache keeps the most recently used gallery faces (a 256² face is
// 256 KB).
type faceCache struct {
	max   int
	ll    *list.List
	items map[string]*list.Element
}

func newFaceCache(max int) *faceCache {
	return &faceCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *faceCache) get(key string) *galleryFace {
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*galleryFace)
	}
	return nil
}

func (c *faceCache) add(gf *galleryFace) {
	if e, ok := c.items[gf.key]; ok {
		e.Value = gf
		c.ll.MoveToFront(e)
		return
	}
	c.items[gf.key] = c.ll.PushFront(gf)
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.items, e.Value.(*galleryFace).key)
	}
}

func (c *faceCache) clear() {
	c.ll.Init()
	clear(c.items)
}
