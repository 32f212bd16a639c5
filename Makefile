# make quality: train forger's cdcgan on Fashion-MNIST for MINUTES (default 30),
# score it with forger's judge and write docs/results/fashion-mnist.md.
# make compare-quality: the same for PyTorch's conditional DCGAN, both rows in the results.
# make quality-faces: train forger's default dcgan on 20,000 cartoon faces at 64×64 for
# MINUTES, score it with the face judge (N = 5000 test faces) and write the side-by-side
# section of docs/results/faces-64.md (TRAIN_FLAGS: extra forger train flags).
# make compare-quality-faces: the same for pytorch/examples' DCGAN on the same faces,
# both rows and both sample grids in docs/results/faces-64.md.
# make small-data: subsets of 300 and 1,000 faces for MINUTES without and with ADA, and
# fine-tuning from make quality-faces' model (FROM_MINUTES): docs/results/small-data.md.
# Settings pass through the environment: make quality MINUTES=1 N=500 RUN=/tmp/q
# make quality-faces MINUTES=0.5 N=500 RUN=/tmp/qf RESULTS=/tmp/qf-results

MINUTES ?= 30
export MINUTES

.PHONY: quality compare-quality quality-faces compare-quality-faces small-data

quality:
	bash scripts/quality.sh

compare-quality:
	bash bench/compare-quality.sh

quality-faces:
	bash scripts/quality-faces.sh

compare-quality-faces:
	bash bench/compare-quality-faces.sh

small-data:
	bash scripts/small-data.sh

# make soak: issue 22's soak of the studio in one command (scripts/soak.sh): forger serve on a
# 64×64 face model under mixed traffic at 10× the soak's base rates for MINUTES (30), killed
# with SIGKILL at a third and stopped with SIGTERM at two thirds; writes
# docs/results/studio-soak.{json,png,txt} and studio-soak-latency.png (OUT, NAME, RATE, MODEL, …).
.PHONY: soak

soak:
	bash scripts/soak.sh
