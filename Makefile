# make quality: train forger's cdcgan on Fashion-MNIST for MINUTES (default 30),
# score it with forger's judge and write docs/results/fashion-mnist.md.
# make compare-quality: the same for PyTorch's conditional DCGAN, both rows in the results.
# Settings pass through the environment: make quality MINUTES=1 N=500 RUN=/tmp/q

MINUTES ?= 30
export MINUTES

.PHONY: quality compare-quality

quality:
	bash scripts/quality.sh

compare-quality:
	bash bench/compare-quality.sh
