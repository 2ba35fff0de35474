#!/bin/sh
# Fonts used by training/synthetic.py (Debian/Ubuntu). Run as root; safe to re-run.
# CI and benchmarks call this before generating lines.
#   --corpus  also install the KJV Bible packages, only needed to regenerate
#             training/corpus/kjv-extract.tsv (see training/corpus/README.md)
set -eu

PRINT="fonts-dejavu-core fonts-liberation2 fonts-ebgaramond fonts-linuxlibertine
       fonts-urw-base35 fonts-freefont-ttf"
TYPEWRITER="fonts-courier-prime fonts-gnutypewriter"
HANDWRITING="fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-sjfonts
             fonts-dancingscript fonts-kaushanscript fonts-kristi
             fonts-tlwg-purisa-ttf fonts-comic-neue"
EXTRA=""
if [ "${1:-}" = "--corpus" ]; then
    EXTRA="bible-kjv bible-kjv-text"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086  # word splitting of the package lists is intended
apt-get install -y --no-install-recommends $PRINT $TYPEWRITER $HANDWRITING $EXTRA
