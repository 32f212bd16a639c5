package studio

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// staticFS holds the pages, served from the binary: plain HTML, CSS and JS.
//
//go:embed static
var staticFS embed.FS

var staticTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(staticFS, "static/"+name)
		if err != nil {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("Content-Type", staticTypes[".html"])
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// static serves /static/{file}: only the embedded files, by base name.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	typ := staticTypes[path.Ext(name)]
	if typ == "" || strings.ContainsAny(name, "/\\") || strings.HasSuffix(name, ".html") {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
