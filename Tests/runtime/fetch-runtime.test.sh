#!/usr/bin/env bash
# Tests Scripts/fetch-runtime without the network: tiny .debs made here with
# dpkg-deb --build, served through BUNDLE_DEBS_FROM, so the real verify and extract
# code runs; and the committed Runtimes/*.lock files must parse. Needs bash, dpkg-deb,
# sha256sum, flock, realpath. Runs in about a second; prints "ok N - name" per case.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
fetch="$repo/Scripts/fetch-runtime"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export BUNDLE_CACHE_DIR="$scratch/cache"
unset XDG_CACHE_HOME

count=0 failures=0
pass() { count=$((count + 1)); echo "ok $count - $1"; }
fail() { count=$((count + 1)); failures=$((failures + 1)); echo "not ok $count - $1"; shift; printf '  %s\n' "$@"; }

# make_deb <name> <version> <arch> <text>: a .deb holding usr/share/<name>/file.txt
# and an absolute symlink usr/share/<name>/link -> /usr/share/<name>/file.txt, named as
# apt names downloads (epoch ':' as %3a). Prints the .deb's path.
make_deb() {
  local name=$1 version=$2 arch=$3 text=$4 dir="$scratch/src/$1-$2"
  mkdir -p "$dir/DEBIAN" "$dir/usr/share/$name" "$scratch/debs"
  printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: test <test@invalid>\nDescription: fetch-runtime test\n' \
    "$name" "$version" "$arch" >"$dir/DEBIAN/control"
  echo "$text" >"$dir/usr/share/$name/file.txt"
  ln -sfn "/usr/share/$name/file.txt" "$dir/usr/share/$name/link"
  local out="$scratch/debs/${name}_${version//:/%3a}_${arch}.deb"
  dpkg-deb --root-owner-group -Zgzip --build "$dir" "$out" >/dev/null
  echo "$out"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# write_lock <file> <package lines...>
write_lock() {
  local file=$1; shift
  { echo "# test recipe"; echo "source testsuite http://deb.invalid/debian main"; printf '%s\n' "$@"; } >"$file"
}

# run_fetch <args...>: runs fetch-runtime, leaves $out, $err, $status.
run_fetch() {
  out=$("$fetch" "$@" 2>"$scratch/stderr"); status=$?
  err=$(cat "$scratch/stderr")
}

a=$(make_deb fake-a 1:1.0-1 amd64 "hello from a")
b=$(make_deb fake-b 2.0 all "hello from b")
export BUNDLE_DEBS_FROM="$scratch/debs"
lock="$scratch/good.lock"
write_lock "$lock" \
  "package fake-a 1:1.0-1 amd64 $(sha "$a") testsuite" \
  "package fake-b 2.0     all   $(sha "$b") testsuite  # trailing comment"

# --- fetch, verify, extract ------------------------------------------------------

run_fetch "$lock"
root="$BUNDLE_CACHE_DIR/runtimes/good/root"
if [ $status -eq 0 ] && [ "$out" = "$root" ] && [ "$(cat "$root/usr/share/fake-a/file.txt")" = "hello from a" ] \
  && [ "$(cat "$root/usr/share/fake-b/file.txt")" = "hello from b" ]; then
  pass "verified .debs are extracted into one root, whose path is printed"
else
  fail "verified .debs are extracted into one root" "status $status" "stdout $out" "stderr $err"
fi

link=$(readlink "$root/usr/share/fake-a/link")
if [ "$link" = "file.txt" ]; then pass "absolute symlinks point inside the root"; else fail "absolute symlinks point inside the root" "link -> $link"; fi

mv "$scratch/debs" "$scratch/debs-away"
run_fetch "$lock"
if [ $status -eq 0 ] && [ "$out" = "$root" ]; then
  pass "a second run uses the verified cache (source gone)"
else
  fail "a second run uses the verified cache" "status $status" "stderr $err"
fi
mv "$scratch/debs-away" "$scratch/debs"

# A cached .deb that no longer matches (corrupt cache) is fetched again.
cached="$BUNDLE_CACHE_DIR/runtimes/good/debs/fake-b_2.0_all.deb"
echo garbage >"$cached"
run_fetch "$lock"
if [ $status -eq 0 ] && [ "$(sha "$cached")" = "$(sha "$b")" ]; then
  pass "a corrupt cached .deb is replaced"
else
  fail "a corrupt cached .deb is replaced" "status $status" "stderr $err"
fi

# A changed lock re-extracts: the old package's files are gone from the root.
c=$(make_deb fake-c 3.0 amd64 "hello from c")
write_lock "$scratch/good.lock" "package fake-c 3.0 amd64 $(sha "$c") testsuite"
run_fetch "$lock"
if [ $status -eq 0 ] && [ -f "$root/usr/share/fake-c/file.txt" ] && [ ! -e "$root/usr/share/fake-a" ]; then
  pass "a changed lock replaces the root"
else
  fail "a changed lock replaces the root" "status $status" "stderr $err" "$(ls "$root/usr/share")"
fi

# --- checksum mismatch -----------------------------------------------------------

wrong=0000000000000000000000000000000000000000000000000000000000000000
write_lock "$scratch/bad.lock" \
  "package fake-b 2.0 all $(sha "$b") testsuite" \
  "package fake-a 1:1.0-1 amd64 $wrong testsuite"
run_fetch "$scratch/bad.lock"
expected_line="fetch-runtime: fake-a 1:1.0-1 amd64: checksum mismatch: expected $wrong, got $(sha "$a") (file removed)"
if [ $status -ne 0 ] && [ "$err" = "$expected_line" ]; then
  pass "a checksum mismatch is one line naming the package, expected and actual digest"
else
  fail "a checksum mismatch is one line naming the package" "status $status" "stderr: $err" "wanted: $expected_line"
fi
if [ ! -e "$BUNDLE_CACHE_DIR/runtimes/bad/debs/fake-a_1%3a1.0-1_amd64.deb" ] \
  && [ -f "$BUNDLE_CACHE_DIR/runtimes/bad/debs/fake-b_2.0_all.deb" ] \
  && [ ! -e "$BUNDLE_CACHE_DIR/runtimes/bad/root" ] && [ -f "$a" ]; then
  pass "the mismatching file is removed, nothing is extracted, the good one is kept"
else
  fail "the mismatching file is removed" "$(ls -la "$BUNDLE_CACHE_DIR/runtimes/bad" "$BUNDLE_CACHE_DIR/runtimes/bad/debs")"
fi

write_lock "$scratch/absent.lock" "package fake-z 1.0 amd64 $(sha "$a") testsuite"
run_fetch "$scratch/absent.lock"
if [ $status -ne 0 ] && [[ $err == *"fake-z 1.0: no fake-z_1.0_amd64.deb in BUNDLE_DEBS_FROM="* ]]; then
  pass "a .deb missing from BUNDLE_DEBS_FROM is named"
else
  fail "a .deb missing from BUNDLE_DEBS_FROM is named" "status $status" "stderr $err"
fi

# --- lock file format ------------------------------------------------------------

digest=$(sha "$a")
bad_lock() { # bad_lock <case name> <expected message fragment> <lock lines...>
  local name=$1 message=$2; shift 2
  printf '%s\n' "$@" >"$scratch/case.lock"
  run_fetch --lint "$scratch/case.lock"
  if [ $status -ne 0 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == "fetch-runtime: $scratch/case.lock"*"$message"* ]]; then
    pass "lock: $name"
  else
    fail "lock: $name" "status $status" "stderr: $err" "wanted: $message"
  fi
}
src="source s http://deb.invalid/debian main"
bad_lock "short digest" ":2: bad sha256 'abc' for pp" "$src" "package pp 1.0 amd64 abc s"
bad_lock "uppercase digest" ":2: bad sha256" "$src" "package pp 1.0 amd64 ${digest^^} s"
bad_lock "missing field" ":2: expected 'package <name> <version> <arch> <sha256> <suite>'" "$src" "package pp 1.0 amd64 $digest"
bad_lock "extra field" ":2: expected 'package" "$src" "package pp 1.0 amd64 $digest s extra"
bad_lock "bad name" ":2: bad package name 'P!'" "$src" "package P! 1.0 amd64 $digest s"
bad_lock "bad version" ":2: bad version 'x1' for pp" "$src" "package pp x1 amd64 $digest s"
bad_lock "unknown record" ":2: unknown record 'pkg'" "$src" "pkg pp 1.0 amd64 $digest s"
bad_lock "suite without source" ": pp is from suite other, which has no 'source' line" "$src" "package pp 1.0 amd64 $digest other"
bad_lock "package twice" ":3: package pp named twice" "$src" "package pp 1.0 amd64 $digest s" "package pp 1.1 amd64 $digest s"
bad_lock "two architectures" ":3: qq is arm64 but earlier packages are amd64" "$src" "package pp 1.0 amd64 $digest s" "package qq 1.0 arm64 $digest s"
bad_lock "no packages" ": no packages" "# nothing" "$src"
bad_lock "bad source uri" ":1: bad uri 'deb.invalid'" "source s deb.invalid main"
bad_lock "suite twice" ":2: suite s named twice" "$src" "$src"

for runtime in "$repo"/Runtimes/*.lock; do
  run_fetch --lint "$runtime"
  if [ $status -eq 0 ]; then pass "$(basename "$runtime") parses"; else fail "$(basename "$runtime") parses" "$err"; fi
done

echo "1..$count"
[ $failures -eq 0 ]
