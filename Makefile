# avscene — the two Quick start commands are `make demo` and `make test`; each sets up whatever is missing first.
.PHONY: setup setup-test demo lint test coverage bench build package mender-artifact clean

setup:
	@bash deploy/setup.sh

setup-test:
	@bash deploy/setup.sh --test

build: setup

## Run the daemon on the embedded default (demo clip, demo bundle, in-process broker) and print the labels it publishes.
demo: setup
	@node dist/cli/main.js run --watch --set log.level=warn

## Formatting and lint (Biome, biome.jsonc) of src/, test/ and models/scripts/; `npx biome check --write` fixes most of it.
lint: setup-test
	@node_modules/.bin/biome check --max-diagnostics=30 || { \
	  echo 'make: formatting or lint problems (listed above). Fix them with `npx biome check --write`, review the diff, and fix by hand what it could not.' >&2; exit 1; }

## Set up, check formatting and lint, then run the whole test suite (node:test; the summary ends with `# pass N` / `# fail N`).
test: setup-test lint
	@node test/run.mjs

## The whole suite with V8 coverage of every process it starts (c8), branch and line coverage per src/ folder, and the
## thresholds of test/coverage-thresholds.mjs (README § Development).
coverage: setup-test
	@node test/run.mjs --coverage

## Benchmarks (numbers go to BENCHMARKS.md by hand after review).
bench: setup-test
	@npm run --silent bench

## Debian package for this machine's architecture: build/avscene_<version>_<arch>.deb (README § Deploying to a fleet).
package: setup
	@bash deploy/package.sh

## Mender artifact of a model bundle for the avscene-bundle update module: build/<name>-<version>.mender
## (README § Rolling out to a fleet with Mender). Optional: KEY=private.pem signs the artifact, PUBLIC_KEY=ed25519.pem
## checks the bundle's own signature first.
mender-artifact: setup
	@bash deploy/mender/make-artifact.sh "$(BUNDLE)" "$(DEVICE_TYPE)" $(if $(KEY),--key "$(KEY)") $(if $(PUBLIC_KEY),--public-key "$(PUBLIC_KEY)")

clean:
	rm -rf dist build node_modules/.avscene-setup
