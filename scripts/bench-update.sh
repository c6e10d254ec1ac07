#!/usr/bin/env bash
# Benchmark: apply N changed items (half replaced in place, half new) to the
# index of the generated catalog of ITEMS items with `stac-indexed update`,
# and print the seconds and peak RSS; then the same once more on top (a
# second delta). Needs the catalog and index scripts/bench-index.sh makes.
#
#   scripts/bench-update.sh            # 100 changes into 1,000,000 items
#   scripts/bench-update.sh 1000 100000
set -euo pipefail
changes="${1:-100}"
items="${2:-1000000}"
collections="${3:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
(cd "$root" && cargo build --release --quiet --bin stac-indexed)
bin="$CARGO_TARGET_DIR/release/stac-indexed"
bench="$STAC_INDEXED_CACHE/bench"
catalog="$bench/catalog-$items-$collections"
index="$bench/index-$items-$collections"
if [ ! -f "$catalog/.complete" ] || [ ! -f "$index/manifest.json" ]; then
  "$root/scripts/bench-index.sh" "$items" "$collections" >&2
fi
work="$bench/update"
rm -rf "$work"
mkdir -p "$work/originals" "$work/new"
cp -r "$index" "$work/index"
# Half the changes rewrite existing items in place (their originals are
# put back afterwards), half are new items beside them.
python3 - "$catalog" "$work" "$changes" <<'PY'
import json, os, sys
catalog, work, changes = sys.argv[1], sys.argv[2], int(sys.argv[3])
items_dir = os.path.join(catalog, "collection-000", "items")
names = sorted(os.listdir(items_dir))[: changes - changes // 2]
uris = []
for n, name in enumerate(names):
    path = os.path.join(items_dir, name)
    with open(path) as f:
        text = f.read()
    with open(os.path.join(work, "originals", name), "w") as f:
        f.write(text)
    item = json.loads(text)
    item["properties"]["eo:cloud_cover"] = 0.5
    with open(path, "w") as f:
        json.dump(item, f)
    uris.append(path)
    if n < changes // 2:
        item["id"] = item["id"] + "-new"
        new = os.path.join(work, "new", name)
        with open(new, "w") as f:
            json.dump(item, f)
        uris.append(new)
with open(os.path.join(work, "changes.txt"), "w") as f:
    f.write("\n".join(uris) + "\n")
PY
restore() { cp "$work/originals/"* "$catalog/collection-000/items/"; }
trap restore EXIT
for round in 1 2; do
  /usr/bin/time -f "%e %M" -o "$work/time.txt" \
    "$bin" update --index "$work/index" --from "$work/changes.txt" --work-dir "$work/tmp" > "$work/report.json" 2>/dev/null
  read -r seconds rss_kb < "$work/time.txt"
  python3 - "$work/report.json" "$seconds" "$rss_kb" "$round" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))["report"]
seconds, rss, round_ = float(sys.argv[2]), int(sys.argv[3]) / 1024, sys.argv[4]
print(f"update {round_}: {report['added']} added, {report['updated']} updated, {report['unchanged']} unchanged, "
      f"{len(report['errors'])} errors; {report['deltas']} deltas; {seconds:.2f} s wall, peak RSS {rss:.0f} MB")
PY
  # The next round names the same items with other content again.
  python3 - "$work/changes.txt" <<'PY'
import json, sys
for path in open(sys.argv[1]).read().split():
    item = json.load(open(path))
    item["properties"]["eo:cloud_cover"] = item["properties"].get("eo:cloud_cover", 0) + 1
    json.dump(item, open(path, "w"))
PY
done
