package gan

import "testing"

func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	r, err := BenchTrain(BenchOptions{Size: 64, Channels: 3, Batch: 64, NZ: 100, NGF: 64, NDF: 64, Steps: 3, Warmup: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	r, _ = BenchGenerate(BenchOptions{Size: 64, Channels: 3, Batch: 64, NZ: 100, NGF: 64, NDF: 64, Steps: 5, Warmup: 1})
	t.Logf("%+v", r)
	r, _ = BenchTrain(BenchOptions{Size: 32, Channels: 1, Batch: 64, NZ: 100, NGF: 32, NDF: 32, Steps: 20, Warmup: 2})
	t.Logf("%+v", r)
	r, _ = BenchGenerate(BenchOptions{Size: 32, Channels: 1, Batch: 64, NZ: 100, NGF: 32, NDF: 32, Steps: 50, Warmup: 2})
	t.Logf("%+v", r)
}

func TestBenchProfile(t *testing.T) {
	r, _ := BenchTrain(BenchOptions{Size: 64, Channels: 3, Batch: 64, NZ: 100, NGF: 64, NDF: 64, Steps: 4, Warmup: 1})
	t.Logf("%+v", r)
}
