package main

// forger face index GALLERY --db FILE and forger face match PHOTO --db FILE:
// a folder of people's photos → an SQLite index of their face descriptors;
// a photo → the people in the index whose faces are nearest and farthest.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"forger/face"
	"forger/face/facedb"
)

func init() { faceSubcommands = append(faceSubcommands, faceIndexCmd, faceMatchCmd) }

func faceIndexCmd(o *faceOptions) *cobra.Command {
	var dbPath string
	cmd := &cobra.Command{
		Use:   "index GALLERY --db FILE",
		Short: "Index a folder of people's photos (GALLERY/<name>/*.jpg or GALLERY/<name>.jpg) into an SQLite file",
		Long: `Index a folder of people: each photo GALLERY/<name>.jpg, or every photo under
GALLERY/<name>/ (several photos of a person give several rows; matching
uses the person's closest), gives one row (name, file, descriptor) in the
SQLite file FILE, created if needed. The descriptor is face-api.js's 128-D
descriptor of the photo's largest face, computed from face-api's crop of it
(its "dlib" box around the eyes and mouth) taken in the face's upright frame
(turned so that the eyes are level: face-api does not turn faces, and a face
tilted by 25 degrees then looks like another person). A photo that is a
tight crop of a face is tried again with a border added.

Indexing again replaces the rows of every photo found, and removes those of
photos no longer under GALLERY, all in one transaction: an interrupted run
leaves the index as it was. Photos with no face, or that are not images,
are listed and skipped.`,
		Example: `  forger face index people/ --db people.db
  forger face match photo.jpg --db people.db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dbPath == "" {
				return usagef("face index: --db FILE is required (the SQLite index to write)")
			}
			root, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			st, err := os.Stat(root)
			if err != nil {
				return err
			}
			if !st.IsDir() {
				return usagef("face index: %s is not a folder (GALLERY/<name>/*.jpg or GALLERY/<name>.jpg)", args[0])
			}
			photos, err := facedb.GalleryPhotos(root)
			if err != nil {
				return err
			}
			if len(photos) == 0 {
				return fmt.Errorf("face index: no files in %s", args[0])
			}
			db, err := facedb.Open(cmd.Context(), dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			det, err := o.detector()
			if err != nil {
				return err
			}
			net, err := o.descriptorNet()
			if err != nil {
				return err
			}
			bar := newBar(len(photos), "index", true)
			t0 := time.Now()
			rows, skipped, err := facedb.Describe(cmd.Context(), det, net, photos, func() { bar.Add(1) })
			if err != nil {
				return fmt.Errorf("face index: interrupted; %s is unchanged: %w", dbPath, err)
			}
			bar.Finish()
			elapsed := time.Since(t0)
			added, removed, err := db.Update(cmd.Context(), rows, root)
			if err != nil {
				return fmt.Errorf("face index: writing %s: %w", dbPath, err)
			}
			total, people, err := db.Count(cmd.Context())
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			for _, s := range skipped {
				fmt.Fprintf(w, "skipped %s\n", s)
			}
			fmt.Fprintf(w, "indexed %d face%s from %d photo%s in %s (%.0f ms a photo); replaced %d row%s; %s holds %d face%s of %d %s\n",
				added, facePlural(added), len(photos), facePlural(len(photos)), elapsed.Round(time.Millisecond),
				float64(elapsed.Milliseconds())/float64(len(photos)), removed, facePlural(removed),
				dbPath, total, facePlural(total), people, map[bool]string{true: "person", false: "people"}[people == 1])
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "", "the SQLite index file (created if needed)")
	return cmd
}

func faceMatchCmd(o *faceOptions) *cobra.Command {
	var (
		dbPath string
		k      int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "match PHOTO --db FILE",
		Short: "Find the people of an index whose faces are nearest to (and farthest from) the largest face of a photo",
		Long: `Compute the descriptor of PHOTO's largest face (as 'face index' does) and
compare it with every face of the index FILE (loaded into memory; a brute-force
scan): print the k nearest people and the k farthest, each at the distance of
their closest face, with same_person = distance < 0.6 (face-api's and dlib's
threshold).`,
		Example: `  forger face match photo.jpg --db people.db -k 5
  forger face match photo.jpg --db people.db --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dbPath == "" {
				return usagef("face match: --db FILE is required (an index made by 'forger face index')")
			}
			if k < 1 {
				return usagef("face match: -k must be at least 1")
			}
			img, err := face.LoadImage(args[0])
			if err != nil {
				return err
			}
			t0 := time.Now()
			db, err := facedb.OpenExisting(cmd.Context(), dbPath)
			if err != nil {
				return err
			}
			gallery, err := db.Load(cmd.Context())
			db.Close()
			if err != nil {
				return err
			}
			loaded := time.Since(t0)
			if gallery.Len() == 0 {
				return fmt.Errorf("face match: the index %s is empty: add faces with 'forger face index GALLERY --db %s'", dbPath, dbPath)
			}
			det, err := o.detector()
			if err != nil {
				return err
			}
			net, err := o.descriptorNet()
			if err != nil {
				return err
			}
			d, f, err := face.DescribeLargest(det, net, img)
			if err != nil {
				return fmt.Errorf("face match: %s: %v", args[0], err)
			}
			t1 := time.Now()
			best, worst := gallery.Match(d, k)
			matched := time.Since(t1)
			w := cmd.OutOrStdout()
			if asJSON {
				for i := range best {
					best[i].Distance = faceRound4(best[i].Distance)
				}
				for i := range worst {
					worst[i].Distance = faceRound4(worst[i].Distance)
				}
				return json.NewEncoder(w).Encode(struct {
					Best  []face.Match `json:"best"`
					Worst []face.Match `json:"worst"`
				}{best, worst})
			}
			fmt.Fprintf(w, "%s: face at %.0f,%.0f %.0fx%.0f; %d face%s of %d people in %s (loaded in %s, matched in %s)\n",
				args[0], f.Box.X, f.Box.Y, f.Box.W, f.Box.H, gallery.Len(), facePlural(gallery.Len()), gallery.People(), dbPath,
				loaded.Round(time.Millisecond), matched.Round(10*time.Microsecond))
			show := func(title string, ms []face.Match) {
				fmt.Fprintln(w, title)
				for i, m := range ms {
					same := "different person"
					if m.SamePerson {
						same = "same person"
					}
					fmt.Fprintf(w, "  %d. %-24s %.4f  %s\n", i+1, m.Name, m.Distance, same)
				}
			}
			show("best:", best)
			show("worst:", worst)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "", "the index made by 'forger face index'")
	cmd.Flags().IntVarP(&k, "k", "k", 3, "how many best and worst matches to show")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"best": [{"name", "distance", "same_person"}, …], "worst": […]}`)
	return cmd
}

// faceRound4 rounds a distance to 1e-4 for the JSON output.
func faceRound4(v float64) float64 { return float64(int64(v*1e4+0.5)) / 1e4 }
