//go:build race

package facedb

func init() { raceEnabled = true }
