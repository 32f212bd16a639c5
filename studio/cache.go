package studio

import (
	"container/list"
	"sync"
)

// imageCache keeps recent pictures (PNG, GIF) in memory by what makes
// them, within a budget in bytes: the least recently used go first.
type imageCache struct {
	mu    sync.Mutex
	max   int64 // bytes
	bytes int64
	ll    *list.List
	items map[string]*list.Element
}

type cachedImage struct {
	key string
	png []byte
}

// cacheEntryOverhead is what an entry costs besides its key and bytes:
// the list element, the map entry and the two headers.
const cacheEntryOverhead = 160

func (e *cachedImage) size() int64 { return int64(len(e.key)+len(e.png)) + cacheEntryOverhead }

// newImageCache keeps at most max bytes of pictures (keys and overhead
// counted).
func newImageCache(max int64) *imageCache {
	return &imageCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *imageCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*cachedImage).png, true
	}
	return nil, false
}

// add keeps b under k, evicting the least recently used pictures until
// the cache fits its budget. A picture larger than an eighth of the
// budget is not kept: it would push out many others.
func (c *imageCache) add(k string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.remove(e)
	}
	ci := &cachedImage{k, b}
	if ci.size() > c.max/8 {
		return
	}
	c.items[k] = c.ll.PushFront(ci)
	c.bytes += ci.size()
	for c.bytes > c.max {
		c.remove(c.ll.Back())
	}
}

func (c *imageCache) remove(e *list.Element) {
	ci := e.Value.(*cachedImage)
	c.ll.Remove(e)
	delete(c.items, ci.key)
	c.bytes -= ci.size()
}

// stats returns the pictures kept and their bytes.
func (c *imageCache) stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}
