//go:build race

package face

func init() { raceEnabled = true }
