#!/bin/sh
# Fails when a page of the book quotes something that does not exist.
#
# mdbook (0.5.4 at least) does not: a missing {{#include}} file is logged as
# an error but the build still succeeds, and a missing anchor silently
# includes nothing. This script checks every an include of a whole file and
# an include of path:anchor under book/src: the file must exist (relative to
# the page) and, for a named anchor, hold both `ANCHOR: name` and
# `ANCHOR_END: name`.
#
# It runs as an mdbook renderer (book.toml, [output.check-anchors]), so
# `mdbook build book` fails with it; it can also be run by hand from anywhere:
#   sh book/check-anchors.sh
set -eu
# As a renderer, mdbook writes its render context to our stdin: drain it.
if [ "${1:-}" = --renderer ]; then cat >/dev/null; fi
book_dir=$(cd "$(dirname "$0")" && pwd)
src="$book_dir/src"
status=0
for page in $(find "$src" -name '*.md' | sort); do
  page_dir=$(dirname "$page")
  # One directive per line of output: the text between "#include " and "}}".
  grep -o '{{#include [^}]*}}' "$page" | sed 's/^{{#include *//; s/ *}}$//' |
  while IFS= read -r target; do
    file=${target%%:*}
    anchor=
    case $target in *:*) anchor=${target#*:} ;; esac
    where="${page#"$book_dir"/}: {{#include $target}}"
    if [ ! -f "$page_dir/$file" ]; then
      echo "check-anchors: $where: no such file" >&2
      exit 1
    fi
    case $anchor in
      '' | *[!A-Za-z0-9_-]* | [0-9]*) continue ;; # no anchor, or a line range
    esac
    # As mdbook reads them: the name ends at the first character that
    # cannot be in a name, so `<!-- ANCHOR: name -->` in a Markdown file
    # counts as well as `// ANCHOR: name` in Rust.
    if ! grep -qE "ANCHOR: $anchor([^A-Za-z0-9_-]|\$)" "$page_dir/$file" ||
       ! grep -qE "ANCHOR_END: $anchor([^A-Za-z0-9_-]|\$)" "$page_dir/$file"; then
      echo "check-anchors: $where: no anchor '$anchor' in $file" >&2
      exit 1
    fi
  done || status=1
done
exit $status
