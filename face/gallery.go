package face

import (
	"math"
	"slices"

	"forger/parallel"
)

// SamePerson is the descriptor distance under which face-api.js (and dlib)
// call two faces the same person.
const SamePerson = 0.6

// Gallery holds many labelled descriptors in memory for brute-force
// matching: a person may have several descriptors (one per photo), and a
// person's distance to a query is that of their closest descriptor.
type Gallery struct {
	names  []string       // person i's name
	byName map[string]int // name → person
	person []int32        // row → person
	data   []float32      // rows × 128
	norms  []float32      // row → ‖descriptor‖²

	dist2 []float32 // scratch: row → squared distance to the query
	best  []float32 // scratch: person → best squared distance
}

// NewGallery returns an empty gallery.
func NewGallery() *Gallery { return &Gallery{byName: map[string]int{}} }

// Add adds one descriptor of the person called name.
func (g *Gallery) Add(name string, d Descriptor) {
	p, ok := g.byName[name]
	if !ok {
		p = len(g.names)
		g.names = append(g.names, name)
		g.byName[name] = p
	}
	g.person = append(g.person, int32(p))
	g.data = append(g.data, d[:]...)
	var n float32
	for _, v := range d {
		n += v * v
	}
	g.norms = append(g.norms, n)
}

// Len is the number of descriptors; People the number of names.
func (g *Gallery) Len() int    { return len(g.person) }
func (g *Gallery) People() int { return len(g.names) }

// Match is one person's distance to a query.
type Match struct {
	Name       string  `json:"name"`
	Distance   float64 `json:"distance"`
	SamePerson bool    `json:"same_person"`
}

// Match returns the k people closest to q (closest first) and the k
// farthest (farthest first), each at the distance of their closest
// descriptor. The scan computes ‖q‖² + ‖x‖² − 2·q·x in float32 for every
// row (split over the cores); the reported distances are recomputed
// exactly (float64) from the rows that won. Match is not safe for
// concurrent use (it reuses scratch space).
func (g *Gallery) Match(q Descriptor, k int) (best, worst []Match) {
	n := g.Len()
	if n == 0 || k <= 0 {
		return nil, nil
	}
	g.dist2 = slices.Grow(g.dist2[:0], n)[:n]
	var qn float32
	for _, v := range q {
		qn += v * v
	}
	parallel.For(n, 4096, parallel.Func(func(lo, hi int) {
		for i := lo; i < hi; i++ {
			g.dist2[i] = qn + g.norms[i] - 2*dot128(&q, g.data[i*128:(i+1)*128])
		}
	}))
	// Each person's best row.
	people := len(g.names)
	g.best = slices.Grow(g.best[:0], people)[:people]
	bestRow := make([]int32, people)
	for i := range g.best {
		g.best[i] = float32(math.Inf(1))
	}
	for i, d := range g.dist2 {
		if p := g.person[i]; d < g.best[p] {
			g.best[p], bestRow[p] = d, int32(i)
		}
	}
	k = min(k, people)
	near := topK(g.best, k, func(a, b float32) bool { return a < b })
	far := topK(g.best, k, func(a, b float32) bool { return a > b })
	match := func(p int32) Match {
		r := int(bestRow[p])
		dist := q.Distance(Descriptor(g.data[r*128 : (r+1)*128]))
		return Match{Name: g.names[p], Distance: dist, SamePerson: dist < SamePerson}
	}
	for _, p := range near {
		best = append(best, match(p))
	}
	for _, p := range far {
		worst = append(worst, match(p))
	}
	return best, worst
}

// topK returns the indices of the k first values of v in the order
// before (ties: the lower index first), by insertion into a short sorted
// list: O(len(v)) for small k.
func topK(v []float32, k int, before func(a, b float32) bool) []int32 {
	top := make([]int32, 0, k+1)
	for i, x := range v {
		if len(top) == k && !before(x, v[top[k-1]]) {
			continue
		}
		j := len(top)
		for j > 0 && before(x, v[top[j-1]]) {
			j--
		}
		top = slices.Insert(top, j, int32(i))
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}

// dot128 is q·x for a 128-value row, with four running sums.
func dot128(q *Descriptor, x []float32) float32 {
	x = x[:128]
	var s0, s1, s2, s3 float32
	for i := 0; i < 128; i += 4 {
		s0 += q[i] * x[i]
		s1 += q[i+1] * x[i+1]
		s2 += q[i+2] * x[i+2]
		s3 += q[i+3] * x[i+3]
	}
	return (s0 + s1) + (s2 + s3)
}
