# The course in a container, for machines without an mxnet 1.9.1 wheel (Windows, Apple silicon) and for
# learners who would rather not touch their Python:
#   docker build -t gluon-lessons .
#   docker run --rm -it gluon-lessons            # the whole course (make run)
#   docker run --rm gluon-lessons make test      # the test suite
# Always linux/amd64: mxnet 1.9.1's aarch64 wheel loads Arm Performance Libraries that it does not bundle,
# so on an ARM machine (Apple silicon) Docker runs this image through its x86_64 emulation.
FROM --platform=linux/amd64 python:3.11-slim

# libmxnet.so bundles libopenblas and libgfortran.so.3 but needs libgomp.so.1 and, through libgfortran,
# libquadmath.so.0 from the system; python:3.11-slim (Debian bookworm) has neither. make runs the course.
RUN apt-get update \
 && apt-get install -y --no-install-recommends make libgomp1 libquadmath0 \
 && rm -rf /var/lib/apt/lists/*

ENV PIP_NO_CACHE_DIR=1
WORKDIR /course
COPY . .
# The Makefile's steps for .venv, so that `make run` and `make test` find it built and up to date.
RUN ./tools/find_python.sh --venv .venv \
 && .venv/bin/python -m pip install --quiet --upgrade pip \
 && .venv/bin/python -m pip install --quiet -e '.[test]' \
 && touch .venv/.installed

CMD ["make", "run"]
