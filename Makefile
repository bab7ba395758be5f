# Every target creates .venv in the checkout when it is missing. torch is
# installed from the CPU wheel first when absent, so that the open torch range
# in pyproject.toml does not pull a multi-GB CUDA build onto CPU machines.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv demo test bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install -q torch==2.13.0
	$(PYTHON) -m pip install -q -e .
	touch $(STAMP)

demo: venv
	$(VENV)/bin/kaizen demo

test: venv
	$(PYTHON) -m pytest -q

clean:
	rm -rf $(VENV) .kaizen_cache
