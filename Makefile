# The two commands the README promises. Both build the virtualenv from scratch when it is missing.
PYTHON ?= python3
VENV   := .venv
STAMP  := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest

run: $(STAMP)
	$(VENV)/bin/proconsul scenario run scenarios/quickstart.toml

clean:
	rm -rf $(VENV) build *.egg-info
