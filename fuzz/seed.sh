#!/usr/bin/env bash
# Seeds the fuzz corpora from the project's own policies, ui cases and test assertions.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/compile corpus/query
find ../policies ../tests/ui ../tests/diff ../tests/fixtures -name '*.charter' | while read -r f; do
  cp "$f" "corpus/compile/$(echo "$f" | tr '/.' '__')"
done
grep -rhoE 'assert .*' ../policies ../tests/ui | sed -E 's/^assert //; s/ == .*//' | sort -u | nl -n ln | \
  while read -r n q; do printf '%s' "$q" > "corpus/query/assert-$n"; done
printf '%s' 'what can "priya@acme.org" do in acme-prod' > corpus/query/what
printf '%s' 'why "sam@acme.org" cannot view report visits at pat-01 in acme-prod' > corpus/query/why
echo "compile: $(ls corpus/compile | wc -l) seeds, query: $(ls corpus/query | wc -l) seeds"
