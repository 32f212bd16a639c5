package gan

import (
	"math/rand/v2"
)

// LatentForSeed fills z (one latent vector) from a seed, so that a seed names
// the same image on every run and machine: the values come from PCG seeded
// with (seed, a fixed stream) through the standard normal sampler. psi scales
// the vector towards the mean (0): the truncation trick, 1 = off.
func LatentForSeed(seed int64, psi float64, z []float32) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	for i := range z {
		z[i] = float32(rng.NormFloat64() * psi)
	}
}

// SeedZ fills z with seed's latent for g at truncation psi (1 = off), the z
// GenerateSeeds renders: scaled towards 0 (LatentForSeed), except a
// StyleGenerator's, which is truncated in W (StyleGenerator.Truncated) and
// so drawn as it is.
func SeedZ(g GeneratorNet, seed int64, psi float64, z []float32) {
	if _, ok := g.(*StyleGenerator); ok {
		psi = 1
	}
	LatentForSeed(seed, psi, z)
}
