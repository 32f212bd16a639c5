package studio

import "forger/gan"

// ServeOnly makes mi the only model the server serves, in place of a scan
// of Config.ModelsDir (forger bench serve serves one checkpoint).
func (s *Server) ServeOnly(mi gan.ModelInfo) { s.models.serveOnly(mi) }

// serveOnly makes mi the only model.
func (m *models) serveOnly(mi gan.ModelInfo) {
	m.mu.Lock()
	m.list, m.byName = []gan.ModelInfo{mi}, map[string]gan.ModelInfo{mi.Name: mi}
	m.mu.Unlock()
}
