package face

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// AlignInputs lists a folder's regular files, leaving out hidden ones and
// the output folder; AlignOutputNames keeps the extension only where two
// inputs would share a crop's name.
func TestAlignInputsAndNames(t *testing.T) {
	in := t.TempDir()
	for _, f := range []string{"a.jpg", "a.png", "b/c.jpg", ".h.jpg", ".git/x.jpg", "out/old.png"} {
		p := filepath.Join(in, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := AlignInputs(in, true, filepath.Join(in, "out"))
	if want := []string{"a.jpg", "a.png", filepath.Join("b", "c.jpg")}; err != nil || !reflect.DeepEqual(files, want) {
		t.Fatalf("AlignInputs: %q %v, want %q", files, err, want)
	}
	if got, want := AlignOutputNames(files), []string{"a_jpg", "a_png", filepath.Join("b", "c")}; !reflect.DeepEqual(got, want) {
		t.Errorf("AlignOutputNames: %q, want %q", got, want)
	}
	// A photo named as the contact sheet does not become a crop the sheet overwrites.
	sheet := []string{"contact-sheet.jpg", "Contact-Sheet", filepath.Join("b", "contact-sheet.jpg")}
	if got, want := AlignOutputNames(sheet), []string{"contact-sheet_jpg", "Contact-Sheet_", filepath.Join("b", "contact-sheet")}; !reflect.DeepEqual(got, want) {
		t.Errorf("AlignOutputNames: %q, want %q", got, want)
	}
	if got, _ := AlignInputs(filepath.Join(in, "a.jpg"), false, in); !reflect.DeepEqual(got, []string{"a.jpg"}) {
		t.Errorf("AlignInputs of a file: %q", got)
	}
}

// WriteAlignReport writes the header and one line a row, eyes to 1/100
// pixel and empty cells for what a skipped photo lacks.
func TestWriteAlignReport(t *testing.T) {
	le, re := [2]float64{10.5, 20}, [2]float64{30.25, 20}
	rows := []AlignRow{
		{File: "a.jpg", Faces: 1, Face: 1, Status: AlignOK, LeftEye: &le, RightEye: &re, Output: "out/a.png"},
		{File: "b.txt", Status: AlignSkipped, Reason: SkipNotImage + " (x)"},
	}
	p := filepath.Join(t.TempDir(), "report.csv")
	if err := WriteAlignReport(p, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	want := "file,faces,face,left_eye_x,left_eye_y,right_eye_x,right_eye_y,status,reason,output\n" +
		"a.jpg,1,1,10.50,20.00,30.25,20.00,ok,,out/a.png\n" +
		"b.txt,0,,,,,,skipped,not an image (x),\n"
	if err != nil || string(b) != want {
		t.Errorf("report:\n%s\nwant:\n%s", b, want)
	}
}
