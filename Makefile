# Sentivis: `make up` runs the product locally, `make test` runs every test.
# Both set up what is missing first (venv, Python packages, redis-server, the browser app).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FRONTEND_STAMP := frontend/node_modules/.installed
# Node's socket.io-client, pinned, for the conformance tests (tests/clients)
CLIENTS_STAMP := tests/clients/node/node_modules/.installed
APT    := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: up test setup system-deps test-deps frontend test-python test-frontend test-e2e bench clean audit

up: setup frontend
	$(PY) -m toolkit up

test: setup test-deps frontend test-python test-frontend test-e2e

setup: system-deps $(STAMP)

$(STAMP): requirements/*.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	# mediapipe without jax and the GUI OpenCV, which face detection does not need
	$(PY) -m pip install -q --no-deps -r requirements/detector-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# redis-server for the stack; Debian's packages when we may install them, else a clear message.
system-deps:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && $(APT) redis-server; \
	  else echo "redis-server is missing: sudo apt-get install redis-server (or brew install redis)"; exit 1; fi; }

# The end-to-end browser test drives Debian's chromium; nothing downloads a browser build. The sessions
# tests start their own PostgreSQL from Debian's postgresql (initdb and pg_ctl, sentivis/pgserver.py).
test-deps:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && $(APT) chromium; \
	  else echo "chromium is missing: sudo apt-get install chromium"; exit 1; fi; }
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && $(APT) postgresql; \
	  else echo "PostgreSQL is missing: sudo apt-get install postgresql"; exit 1; fi; }

frontend: $(FRONTEND_STAMP)
	@if [ -f frontend/package.json ]; then cd frontend && npm run --silent build; fi

$(FRONTEND_STAMP): $(wildcard frontend/package-lock.json)
	@if [ -f frontend/package-lock.json ]; then \
	  command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }; \
	  cd frontend && npm ci --no-audit --no-fund && touch node_modules/.installed; fi

$(CLIENTS_STAMP): tests/clients/node/package-lock.json
	command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 (apt-get install nodejs npm)"; exit 1; }
	cd tests/clients/node && npm ci --no-audit --no-fund && touch node_modules/.installed

test-python: setup $(CLIENTS_STAMP)
	$(PY) -m pytest

test-frontend: frontend
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi

test-e2e: setup frontend
	@if [ -f frontend/package.json ]; then cd frontend && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npm run test:e2e; fi

# Known vulnerabilities with a fix in requirements/*.txt and frontend/ fail this (reliability/audit.py).
audit: setup
	$(PY) -m reliability audit

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist test-artifacts tests/clients/node/node_modules

# The product as users deploy it (docker-compose.yml): images built, the stack run and tested for
# real (tests/compose). Needs a Docker engine; without a container registry, run
# ../shared/tools/standin-images first (as root). The trainer image installs a torch wheel found in
# docker/wheels instead of asking PyTorch's index: this copies the local CPU wheel there.
TORCH_WHEELS ?= $(PIP_FIND_LINKS)
.PHONY: test-compose docker-wheels
docker-wheels:
	@for w in $(foreach d,$(TORCH_WHEELS),$(wildcard $(d)/torch-*.whl)); do \
	  t="docker/wheels/$$(basename "$$w")"; [ "$$w" -ef "$$t" ] || ln -f "$$w" "$$t" 2>/dev/null || cp "$$w" "$$t"; done

test-compose: setup docker-wheels
	SENTIVIS_COMPOSE_TEST=1 nice -n 10 $(PY) -m pytest tests/compose -v -s --timeout 1800

# Docker Swarm (docker-stack.yml, docs/DEPLOY.md): the images docker-compose.yml builds, built when
# missing, deployed as stack $(STACK) on this engine's swarm (a single-node one is made when the
# engine is in none). The stack publishes port 8080 on every address: SENTIVIS_AUTH_TOKEN is required.
STACK   ?= sentivis
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
IMAGES  := gateway detector classifier recorder frontend trainer
.PHONY: images stack-up stack-down test-swarm
images: docker-wheels
	@missing=$$(for s in $(IMAGES); do docker image inspect "sentivis-$$s:$${SENTIVIS_IMAGE_TAG:-latest}" >/dev/null 2>&1 || echo $$s; done); \
	if [ -n "$$missing" ]; then echo "building:" $$missing; nice -n 15 $(COMPOSE) -f docker-compose.yml --profile training build $$missing; fi

stack-up: images
	@[ -n "$$SENTIVIS_AUTH_TOKEN" ] || { echo "SENTIVIS_AUTH_TOKEN is required: the stack publishes port 8080 on every address"; exit 1; }
	@[ "$$(docker info --format '{{.Swarm.LocalNodeState}}')" = active ] || docker swarm init
	docker stack deploy --resolve-image never -c docker-stack.yml $(STACK)
	@echo "stack $(STACK): http://<this host>:8080 (docker stack ps $(STACK))"

stack-down:
	docker stack rm $(STACK)

# The stack for real (tests/swarm): one node, then two (a second dockerd in a network namespace
# the test makes and removes), on images built from this tree. Needs a Docker engine and root.
test-swarm: setup docker-wheels
	nice -n 15 $(COMPOSE) -f docker-compose.yml --profile training build
	SENTIVIS_SWARM_TEST=1 nice -n 10 $(PY) -m pytest tests/swarm -v -s --timeout 2400
