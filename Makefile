# Two entry points for a fresh clone (see README):
#   make start   install, then run the main job on the embedded default
#   make test    install everything the tests need, then run them all
PYTHON ?= python3
VENV := .venv

.PHONY: start test install
start: install
	$(VENV)/bin/annotate quickstart

test:
	bash scripts/test.sh

install:
	bash scripts/install.sh
