package blas

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// goSgemm is the pure-Go back-end: a Goto/BLIS-style GEMM around a
// register-blocked micro-kernel (microKernel: 8×32 AVX-512 or 6×16 AVX2+FMA
// in gemm_go_amd64.s, 4×4 plain Go elsewhere). Its loops, outside in:
//
//  1. Tasks. C is cut into a grid of rectangles of whole mr×nr tiles
//     (makePlan). The calling goroutine and up to GOMAXPROCS-1 helpers take
//     them from a shared counter; each is a complete GEMM on its rectangle,
//     so no two goroutines ever write the same element of C.
//  2. k blocks. The k dimension is cut into blocks at most kcMax deep. For
//     each, the task's kc×cols slice of op(B) (at most bBlockBytes) is packed
//     into nr-wide micro-panels (packB), which stay in the goroutine's L2
//     cache through the loops below.
//  3. Row panels. For each mr rows of the task, the kc-deep panel of op(A)
//     is read in place if A is not transposed (its rows are contiguous), or
//     from a block of up to aBlockBytes of Aᵀ copied ahead (packAT). It stays
//     in L1 while
//  4. micro-panels: the micro-kernel multiplies it by each micro-panel of
//     B, adding the product into an mr×nr tile of C kept in registers.
//
// Packing absorbs the transposes. Edge tiles (the last rows or columns, when
// m or n is not a multiple of the tile) use zero-padded panels and are
// computed on a copy of C by the same kernel (macroKernel).
//
// Each element of C is thus beta·C plus alpha times one k block after the
// other, each block summed in order p = 0, 1, … in one register lane. The
// block depth depends on k alone and the order on nothing, so the result is
// bit-identical from run to run, whatever the timing, the task grid or
// GOMAXPROCS. Products with mnk ≤ smallWork skip all this (smallSgemm); those
// under serialFlops run on the calling goroutine only. Steady-state calls do
// not allocate: jobs and buffers are pooled and helpers persist.
func goSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if k == 0 || alpha == 0 {
		scale(beta, c, m, n, ldc)
		return
	}
	if float64(m)*float64(n)*float64(k) <= smallWork {
		smallSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	j := jobPool.Get().(*gemmJob)
	j.transA, j.transB = transA, transB
	j.m, j.n, j.k = m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.b, j.c = a, b, c
	j.lda, j.ldb, j.ldc = lda, ldb, ldc
	j.plan = makePlan(kernel, m, n, k, runtime.GOMAXPROCS(0))
	j.run()
}

// smallSgemm computes a tiny product directly: one dot product per element
// of C, summed in order p = 0, 1, …, k-1.
func smallSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ars, acs := lda, 1 // op(A)[i][p] = a[i·ars+p·acs]
	if transA {
		ars, acs = 1, lda
	}
	brs, bcs := ldb, 1 // op(B)[p][j] = b[p·brs+j·bcs]
	if transB {
		brs, bcs = 1, ldb
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			var s float32
			for p := range k {
				s += a[i*ars+p*acs] * b[p*brs+j*bcs]
			}
			if beta == 0 {
				row[j] = alpha * s
			} else {
				row[j] = alpha*s + beta*row[j]
			}
		}
	}
}

// kernel is the micro-kernel goSgemm uses: the fastest one supported. Tests
// swap it to check the others.
var kernel = supportedKernels()[0]

const (
	// kcMax bounds the depth of a k block. The mr×kc panel of A (16 KB for
	// the 8×32 AVX-512 kernel) then fits in L1 (48 KB on the EPYC this was
	// tuned for) next to the stream of B, and each tile of C is loaded and
	// stored once per 512 FMAs per lane.
	kcMax = 512
	// bBlockBytes bounds the packed kc×cols block of B. It must stay in the
	// L2 cache (1 MB per core there) while every panel of A streams past it.
	bBlockBytes = 512 << 10
	// aBlockBytes bounds a packed block of a transposed A (see packAT), which
	// shares L2 with the block of B.
	aBlockBytes = 192 << 10
	// smallWork is the size (mnk) up to which goSgemm uses smallSgemm: for
	// such tiny products, packing and edge tiles cost more than they save.
	smallWork = 512
	// serialFlops is the size (2mnk, about 80µs of work for one core) below
	// which goSgemm runs on the calling goroutine alone: a parked helper
	// takes from microseconds to, on a busy machine, a millisecond to wake.
	serialFlops = 1 << 24
	// packCost is the cost of packing one float, in flops of kernel time;
	// makePlan weighs packing against parallelism with it.
	packCost = 32
	// maxTasksPerThread caps the number of tasks makePlan considers.
	maxTasksPerThread = 8
)

// plan is how one call is blocked and split into tasks.
type plan struct {
	kern       *microKernel
	kc         int // depth of the k blocks (the last may be shallower)
	rows, cols int // size of a task; multiples of mr and nr, cols ≤ nc
	tm, tn     int // tasks down and across C
	threads    int // goroutines to work on the tasks
}

func ceilDiv(x, y int) int { return (x + y - 1) / y }

// roundUp rounds x up to a multiple of y.
func roundUp(x, y int) int { return ceilDiv(x, y) * y }

// makePlan blocks an m×n×k product for kernel mk on up to threads goroutines.
//
// The k blocks are as even as possible and at most kcMax deep; that choice
// depends on k alone, which keeps results independent of the split. The
// widest B block is nc = bBlockBytes/(4kc) columns. The task grid, tm×tn
// tasks of rows×cols, is the one with the smallest estimated time
//
//	(⌈tm·tn/threads⌉ + 1) · cost(task),  cost = k·(2·rows·cols + packCost·(rows+cols)),
//
// that is, the slowest goroutine's share plus one task of slack for a
// goroutine that starts late or is preempted. Small tasks balance better but
// pack A and B more often.
func makePlan(mk *microKernel, m, n, k, threads int) plan {
	p := plan{kern: mk, kc: ceilDiv(k, ceilDiv(k, kcMax))}
	nc := max(mk.nr, bBlockBytes/(4*p.kc)/mk.nr*mk.nr)
	tn0 := ceilDiv(n, nc)
	if threads < 1 || 2*float64(m)*float64(n)*float64(k) < serialFlops {
		threads = 1
	}
	p.rows, p.cols = roundUp(m, mk.mr), roundUp(ceilDiv(n, tn0), mk.nr)
	p.tm, p.tn = 1, ceilDiv(n, p.cols)
	if threads == 1 || tn0 >= maxTasksPerThread*threads {
		p.threads = min(threads, p.tn)
		return p
	}
	best := -1.0
	for tm := 1; tm*tn0 <= maxTasksPerThread*threads; tm++ {
		rows := roundUp(ceilDiv(m, tm), mk.mr)
		for tn := tn0; tm*tn <= maxTasksPerThread*threads; tn++ {
			cols := roundUp(ceilDiv(n, tn), mk.nr)
			tasks := ceilDiv(m, rows) * ceilDiv(n, cols)
			cost := 2*float64(rows)*float64(cols) + packCost*float64(rows+cols)
			est := float64(ceilDiv(tasks, threads)+1) * cost
			if best < 0 || est < best {
				best = est
				p.rows, p.cols = rows, cols
			}
		}
	}
	p.tm, p.tn = ceilDiv(m, p.rows), ceilDiv(n, p.cols)
	p.threads = min(threads, p.tm*p.tn)
	return p
}

// gemmJob is one goSgemm call in progress. The calling goroutine and up to
// plan.threads-1 helpers take its tasks from next.
type gemmJob struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	plan

	next atomic.Int64   // index of the next task to take
	done sync.WaitGroup // one count per task
	refs atomic.Int32   // goroutines holding the job; the last one recycles it
}

// jobPool recycles gemmJobs so that a call does not allocate.
var jobPool = sync.Pool{New: func() any { return new(gemmJob) }}

// run computes all tasks of the job with its helpers, waits for them and
// releases the job.
func (j *gemmJob) run() {
	tasks := j.tm * j.tn
	j.next.Store(0)
	j.done.Add(tasks)
	j.refs.Store(1)
	if j.threads > 1 {
		helpers.start(j.threads - 1)
		for range j.threads - 1 {
			j.refs.Add(1)
			select {
			case helpers.jobs <- j:
			default: // the queue is full: do with fewer helpers
				j.refs.Add(-1)
			}
		}
	}
	j.work()
	j.done.Wait()
	j.release()
}

// work takes tasks until there are none left.
func (j *gemmJob) work() {
	var bufs *packBufs
	for {
		t := int(j.next.Add(1) - 1)
		if t >= j.tm*j.tn {
			break
		}
		if bufs == nil {
			bufs = bufPool.Get().(*packBufs)
		}
		j.task(t, bufs)
		j.done.Done()
	}
	if bufs != nil {
		bufPool.Put(bufs)
	}
}

// release drops one reference to j; the last one returns j to jobPool. A
// helper that finds the job only after all tasks are done still holds a
// reference, so the job cannot be reused under it.
func (j *gemmJob) release() {
	if j.refs.Add(-1) == 0 {
		j.a, j.b, j.c = nil, nil, nil // do not pin the caller's matrices
		jobPool.Put(j)
	}
}

// helpers are goroutines that work on jobs queued by goSgemm. They are
// started on first need, one fewer than GOMAXPROCS (the caller works too),
// and then wait on the queue for the life of the process.
var helpers helperPool

type helperPool struct {
	mu   sync.Mutex
	n    int
	jobs chan *gemmJob
}

// start makes sure at least n helpers are running.
func (h *helperPool) start(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.jobs == nil {
		// Room for a job per helper of a few concurrent calls; when it is
		// full, goSgemm makes do with fewer helpers rather than wait.
		h.jobs = make(chan *gemmJob, 64)
	}
	for ; h.n < n; h.n++ {
		go func() {
			for j := range h.jobs {
				j.work()
				j.release()
			}
		}()
	}
}

// packBufs are one goroutine's packing buffers.
type packBufs struct {
	a    []float32 // a block of Aᵀ (packAT) or the last rows of A (packA)
	b    []float32 // kc×cols block of op(B), as cols/nr micro-panels
	tile []float32 // mr×nr copy of an edge tile of C
}

var bufPool = sync.Pool{New: func() any { return new(packBufs) }}

// grow returns s resliced to n floats, reallocating only if it is too small.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// task computes the rows×cols rectangle number t of C.
func (j *gemmJob) task(t int, bufs *packBufs) {
	mk := j.kern
	mr := mk.mr
	i0, j0 := t/j.tn*j.rows, t%j.tn*j.cols
	rows, cols := min(j.rows, j.m-i0), min(j.cols, j.n-j0)
	blockRows := max(mr, aBlockBytes/(4*j.kc)/mr*mr) // rows per packAT block
	bufs.a = grow(bufs.a, (roundUp(min(rows, blockRows), mr)+mr)*j.kc)
	bufs.b = grow(bufs.b, j.kc*roundUp(cols, mk.nr))
	bufs.tile = grow(bufs.tile, mr*mk.nr)
	beta := j.beta
	for p0 := 0; p0 < j.k; p0 += j.kc {
		kb := min(j.kc, j.k-p0)
		packB(mk, bufs.b, j.b, j.ldb, j.transB, p0, kb, j0, cols)
		for ic := i0; ic < i0+rows; ic += blockRows {
			mc := min(blockRows, i0+rows-ic)
			ld := roundUp(mc, mr)
			if ld%16 == 0 {
				// Keep the column stride off whole cache lines, or the
				// columns of a panel would crowd into a few L1 sets.
				ld += mr
			}
			if j.transA {
				packAT(bufs.a, j.a, j.lda, ic, mc, ld, p0, kb)
			}
			for s := 0; s < mc; s += mr {
				i, mb := ic+s, min(mr, mc-s)
				var a []float32
				var ars, acs int
				switch {
				case j.transA:
					a, ars, acs = bufs.a[s:], 1, ld
				case mb == mr: // whole rows of A are read in place
					a, ars, acs = j.a[i*j.lda+p0:], j.lda, 1
				default:
					packA(mr, bufs.a, j.a, j.lda, i, mb, p0, kb)
					a, ars, acs = bufs.a, 1, mr
				}
				j.macroKernel(bufs, a, ars, acs, kb, i, mb, j0, cols, beta)
			}
		}
		beta = 1 // later k blocks add to what the first one stored
	}
}

// macroKernel multiplies the mr×kb panel of op(A) at a (strides ars, acs as
// for microKernel) by the packed kb×cols block of B into C[i:i+mb,
// j0:j0+cols]. An edge tile (mb < mr or fewer than nr columns left) is
// computed on a copy in bufs.tile by the same kernel, so its arithmetic is
// the same as for a whole tile.
func (j *gemmJob) macroKernel(bufs *packBufs, a []float32, ars, acs, kb, i, mb, j0, cols int, beta float32) {
	mk := j.kern
	mr, nr, ldc := mk.mr, mk.nr, j.ldc
	for jr := 0; jr < cols; jr += nr {
		w := min(nr, cols-jr)
		bp := bufs.b[jr*kb : (jr+nr)*kb]
		off := i*ldc + j0 + jr
		if mb == mr && w == nr {
			mk.run(kb, a, ars, acs, bp, j.c[off:], ldc, j.alpha, beta)
			continue
		}
		tile := bufs.tile
		if beta != 0 {
			for r := range mb {
				copy(tile[r*nr:r*nr+w], j.c[off+r*ldc:])
			}
		}
		mk.run(kb, a, ars, acs, bp, tile, nr, j.alpha, beta)
		for r := range mb {
			copy(j.c[off+r*ldc:off+r*ldc+w], tile[r*nr:])
		}
	}
}

// packA packs rows i..i+mb-1 (mb < mr), columns p0..p0+kb-1 of A (not
// transposed) into dst as kb columns of mr floats, dst[p·mr+r] = A[i+r][p0+p],
// padded with zeros. Only the last, partial panel of rows is packed: whole
// ones are read in place.
func packA(mr int, dst, a []float32, lda, i, mb, p0, kb int) {
	dst = dst[:kb*mr]
	clear(dst)
	for r := range mb {
		row := a[(i+r)*lda+p0:][:kb]
		for p, v := range row {
			dst[p*mr+r] = v
		}
	}
}

// packAT copies rows i..i+mc-1, columns p0..p0+kb-1 of op(A) = Aᵀ into dst
// as a column-major block with column stride ld ≥ mc: dst[p·ld+r] =
// A[p0+p][i+r], zero for mc ≤ r < ld. The kernel reads panels of it in place
// (ars = 1, acs = ld). Copying long runs of each row of A is several times
// faster than interleaving them into mr-wide panels.
func packAT(dst, a []float32, lda, i, mc, ld, p0, kb int) {
	for p := range kb {
		d := dst[p*ld : p*ld+ld]
		copy(d, a[(p0+p)*lda+i:][:mc])
		clear(d[mc:])
	}
}

// packB packs rows p0..p0+kb-1, columns j0..j0+cols-1 of op(B) into dst as
// ⌈cols/nr⌉ micro-panels of kb×nr floats, padded with zeros: panel q holds
// dst[q·kb·nr + p·nr + c] = op(B)[p0+p][j0+q·nr+c].
func packB(mk *microKernel, dst, b []float32, ldb int, trans bool, p0, kb, j0, cols int) {
	nr := mk.nr
	for q := 0; q < cols; q += nr {
		w := min(nr, cols-q)
		panel := dst[q*kb : (q+nr)*kb]
		if !trans {
			src := b[p0*ldb+j0+q:]
			if mk.copyRows != nil && w == nr {
				_ = src[(kb-1)*ldb+nr-1]
				mk.copyRows(&panel[0], &src[0], ldb, kb, nr)
				continue
			}
			for p := range kb {
				copy(panel[p*nr:p*nr+w], src[p*ldb:][:w])
				clear(panel[p*nr+w : p*nr+nr])
			}
			continue
		}
		// op(B)[p][j] = b[j·ldb+p]: panel columns are rows of b, so this is
		// a transposition, done in 8×8 blocks by mk.transpose if it has one.
		src := b[(j0+q)*ldb+p0:]
		done := 0
		if mk.transpose != nil && w == nr && kb >= 8 {
			done = kb &^ 7
			_ = src[(nr-1)*ldb+done-1]
			mk.transpose(&panel[0], &src[0], ldb, done, nr)
		}
		if done < kb {
			if w < nr {
				clear(panel)
			}
			for c := range w {
				col := src[c*ldb:][done:kb]
				for p, v := range col {
					panel[(done+p)*nr+c] = v
				}
			}
		}
	}
}
