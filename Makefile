# Two commands for a fresh machine:  make build  (set up, build every document)  and  make test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Pango renders the text; HarfBuzz's subsetter keeps embedded fonts byte-stable; poppler-utils (pdffonts,
# pdfinfo, pdftoppm) and qpdf let the tests check PDFs independently.
# chromium: the browser the staff app's end-to-end tests drive (Playwright never downloads its own).
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 poppler-utils qpdf chromium
# Fallback fonts PyPI has no package for (handouts/fonts.py FALLBACKS reads them from the paths these install),
# pinned like the Python ones: Lohit Gurmukhi, and Noto Sans CJK for Chinese. Both SIL OFL 1.1.
FONT_PACKAGES := fonts-lohit-guru=2.91.2-3 fonts-noto-cjk=1:20220127+repack1-1

.PHONY: setup build check test clean system serve

setup: system $(VENV)/.installed

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	for p in $(FONT_PACKAGES); do \
	  [ "$$(dpkg-query -W -f='$${Status} $${Version}' $${p%%=*} 2>/dev/null)" = "install ok installed $${p#*=}" ] \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing system packages:$$missing"; \
	    echo "Install them (sudo apt-get install$$missing) and run make again."; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pip install --quiet -e '.[test]'
	touch $@

build: setup
	$(PY) build.py

check: setup
	$(PY) build.py check

test: setup
	$(PY) -m pytest

# The staff web app on http://127.0.0.1:8000 (gunicorn); the documents are built first, so the library is full.
serve: build
	$(PY) build.py serve

clean:
	rm -rf output $(VENV)
