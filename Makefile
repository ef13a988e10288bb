# robolearn: `make test` and `make demo` set up what is missing first (see README.md).
.PHONY: help test demo setup build check-launch lint bench clean distclean

PYTEST_ARGS ?=

help:
	@echo "make test      set up (venv or ROS), build, run every test (tests/ and src/*/test)"
	@echo "make demo      set up, build, run the most complete pipeline that exists (runs/demo/<timestamp>/)"
	@echo "make setup     create/refresh the environment only (idempotent)"
	@echo "make build     colcon build --symlink-install"
	@echo "make check-launch   static check of launch/ and config/"
	@echo "make lint      ruff check (ruff.toml)"
	@echo "make clean     remove build/ install/ log/;  make distclean also removes .venv/"

setup:
	@scripts/setup

build: setup
	@scripts/build

test: build
	scripts/with-env ruff check .
	scripts/with-env check_launch
	scripts/with-env python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

check-launch: build
	scripts/with-env check_launch

lint: setup
	scripts/with-env ruff check .

demo: build
	scripts/with-env demo

clean:
	rm -rf build install log

distclean: clean
	rm -rf .venv
