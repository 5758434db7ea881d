#!/bin/sh
# meson install: put the example configuration ($1) at $2 (under $DESTDIR)
# unless a file is already there: a director's own configuration is never
# replaced by the example.
set -eu
target="${DESTDIR:-}$2"
if [ -e "$target" ] || [ -L "$target" ]; then
  echo "Keeping the existing $target (the example is $1)"
  exit 0
fi
install -D -m 0644 "$1" "$target"
echo "Installing the example configuration to $target"
