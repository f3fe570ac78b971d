#!/bin/sh
# Install rmcp-mux and rmcp-mux-proxy (standalone Bun executables) into ~/.local/bin.
#
#   From a checkout:   sh install.sh
#   Without one:       curl -fsSL https://raw.githubusercontent.com/rmcp-mux/rmcp-mux/main/install.sh | sh
#
# Environment:
#   INSTALL_DIR      where the binaries go        (default: $HOME/.local/bin)
#   MUX_RELEASE_URL  base URL of the releases     (default: https://github.com/rmcp-mux/rmcp-mux/releases/download)
#   MUX_REF          release tag to install, also the branch, tag or commit built when falling back
#                    to source                    (default: the latest release; main for source)
#   MUX_REPO         repository to build from when no release archive fits
#                                                 (default: https://github.com/rmcp-mux/rmcp-mux)
#   MUX_PLATFORM     <os>-<arch> to install instead of this machine's (default: from uname, e.g. linux-x64)
#
# From a checkout it builds there: make sure Bun works (installing it with `npm install -g bun` if
# missing), `bun install --frozen-lockfile`, `bun run build`, and copy dist/rmcp-mux into INSTALL_DIR.
#
# rmcp-mux-proxy is the same program under another name: it is installed as a symbolic link to
# rmcp-mux, so the daemon and every host session's proxy share one file's pages in memory.
#
# Without a checkout it installs a release archive (as written by `bun run build --all`):
#   $MUX_RELEASE_URL/$MUX_REF/SHA256SUMS                          one "<sha256>  <file>" line per archive
#   $MUX_RELEASE_URL/$MUX_REF/rmcp-mux-<version>-<os>-<arch>.tar.gz
# (with the default URL and no MUX_REF: .../releases/latest/download/<file>). <os> is linux or darwin,
# <arch> x64 or arm64. The archive's sha256 must match its SHA256SUMS line, or nothing is installed
# and the script exits non-zero. When there is no release, no archive for this platform, or its
# binary does not run here, it fetches MUX_REF of MUX_REPO and builds that as above.
#
# Safe to run again: the binaries are replaced atomically (a running daemon keeps its old file), and
# a file that is already identical is left alone.
set -eu

MUX_REPO=${MUX_REPO:-https://github.com/rmcp-mux/rmcp-mux}
DEFAULT_RELEASE_URL=https://github.com/rmcp-mux/rmcp-mux/releases/download
BINARIES="rmcp-mux rmcp-mux-proxy"
# The executable, and its other names (links to it).
EXECUTABLE=rmcp-mux
LINKS=rmcp-mux-proxy

say() { printf 'rmcp-mux install: %s\n' "$*"; }
die() {
	printf 'rmcp-mux install: error: %s\n' "$*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
	cat <<EOF
usage: sh install.sh            (from a checkout: build it)
       curl -fsSL .../install.sh | sh

Installs rmcp-mux and rmcp-mux-proxy into \${INSTALL_DIR:-\$HOME/.local/bin}. Without a checkout it
downloads the release archive for this machine from \${MUX_RELEASE_URL:-$DEFAULT_RELEASE_URL}
(release \$MUX_REF, default the latest), checks its sha256, and installs it; when no archive fits
it builds \$MUX_REF (default main) of \$MUX_REPO (default https://github.com/rmcp-mux/rmcp-mux) with Bun.
EOF
}

bun_works() { bun --version >/dev/null 2>&1; }

# Make `bun` runnable, installing it from the npm registry when it is missing.
ensure_bun() {
	if bun_works; then
		return 0
	fi
	# An earlier official install (bun.sh) that is not on PATH yet.
	if [ -x "$HOME/.bun/bin/bun" ]; then
		PATH="$HOME/.bun/bin:$PATH"
		export PATH
		if bun_works; then
			say "using Bun from $HOME/.bun/bin"
			return 0
		fi
	fi
	have npm || die "Bun is not installed and npm is not available to install it.
Install Node.js (which provides npm) or Bun (https://bun.sh), then run this again."

	say "Bun not found; installing it with: npm install -g bun"
	if ! npm install -g bun; then
		# npm >= 11 may refuse unreviewed install scripts (strict-allow-scripts); Bun's
		# postinstall is what puts the native binary in place.
		say "retrying with: npm install -g --allow-scripts=bun bun"
		if ! npm install -g --allow-scripts=bun bun; then
			# The global prefix is often not writable by a normal user: use ~/.local instead.
			say "retrying into your home folder: npm install -g --prefix \"$HOME/.local\" bun"
			mkdir -p "$HOME/.local/lib/node_modules" # npm 11 strict-allow-scripts fails on a missing prefix
			npm install -g --prefix "$HOME/.local" --allow-scripts=bun bun ||
				npm install -g --prefix "$HOME/.local" bun ||
				die "could not install Bun with npm. Install it yourself (https://bun.sh) and run this again."
			PATH="$HOME/.local/bin:$PATH"
			export PATH
		fi
	fi

	# npm's global bin folder is not always on PATH.
	if ! have bun; then
		npm_prefix=$(npm prefix -g 2>/dev/null || true)
		if [ -n "$npm_prefix" ]; then
			PATH="$npm_prefix/bin:$PATH"
			export PATH
		fi
	fi
	# With install scripts disabled (ignore-scripts=true) the package only holds a placeholder;
	# run its postinstall by hand.
	if have bun && ! bun_works; then
		npm_root=$(npm root -g 2>/dev/null || true)
		if [ -n "$npm_root" ] && [ -f "$npm_root/bun/install.js" ]; then
			say "running Bun's postinstall step (npm skipped it)"
			(cd "$npm_root/bun" && node install.js) || true
		fi
	fi
	bun_works || die "Bun was installed with npm but 'bun --version' does not work.
Check that \$(npm prefix -g)/bin is on PATH, or install Bun from https://bun.sh."
	say "installed Bun $(bun --version) at $(command -v bun)"
}

# download URL FILE: fetch URL into FILE; non-zero when it is missing (404) or unreachable.
download() {
	if have curl; then
		curl -fsSL --connect-timeout 20 -o "$2" "$1"
	elif have wget; then
		wget -q -O "$2" "$1"
	else
		return 1
	fi
}

# Fetch source ref $2 of MUX_REPO into $1 (an empty folder).
fetch_source() {
	dest=$1
	ref=$2
	if have git; then
		say "cloning $MUX_REPO ($ref)"
		if git clone --quiet --depth 1 --branch "$ref" "$MUX_REPO" "$dest" 2>/dev/null; then
			return 0
		fi
		rm -rf "$dest"
		mkdir -p "$dest"
		say "git clone --branch $ref failed; trying a tarball"
	fi
	url="${MUX_REPO%.git}/archive/$ref.tar.gz"
	say "downloading $url"
	download "$url" "$tmp/source.tar.gz" ||
		die "could not fetch $ref of $MUX_REPO (need git, or curl/wget and $url)"
	tar -xzf "$tmp/source.tar.gz" -C "$dest" --strip-components=1 ||
		die "could not unpack $url"
	[ -f "$dest/package.json" ] || die "could not fetch $ref of $MUX_REPO"
}

# Is $1 a rmcp-mux checkout?
is_checkout() { [ -f "$1/package.json" ] && [ -d "$1/src" ] && [ -f "$1/build.ts" ]; }

# This machine as <os>-<arch>, spelled like the release archives (linux-x64, darwin-arm64, ...).
detect_platform() {
	if [ -n "${MUX_PLATFORM:-}" ]; then
		printf '%s\n' "$MUX_PLATFORM"
		return 0
	fi
	os=$(uname -s 2>/dev/null || echo unknown)
	arch=$(uname -m 2>/dev/null || echo unknown)
	case $os in
	Linux) os=linux ;;
	Darwin) os=darwin ;;
	*) os=$(printf '%s' "$os" | tr '[:upper:]' '[:lower:]') ;;
	esac
	case $arch in
	x86_64 | amd64) arch=x64 ;;
	aarch64 | arm64 | armv8*) arch=arm64 ;;
	esac
	# A shell under Rosetta reports x86_64 on Apple silicon: prefer the native binary.
	if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
		arch=arm64
	fi
	# The release binaries need glibc; musl systems (Alpine) have no archive and build from source.
	if [ "$os" = linux ] && (ldd --version 2>&1 || true) | grep -qi musl; then
		arch=$arch-musl
	fi
	printf '%s-%s\n' "$os" "$arch"
}

# sha256 of file $1 (lower-case hex), with whichever tool this system has.
sha256_of() {
	if have sha256sum; then
		sha256sum "$1" | awk '{ print tolower($1) }'
	elif have shasum; then
		shasum -a 256 "$1" | awk '{ print tolower($1) }'
	elif have openssl; then
		openssl dgst -sha256 -r "$1" | awk '{ print tolower($1) }'
	else
		return 1
	fi
}

# URL of file $3 in release $2 under base $1. GitHub serves the newest release at a URL of its own.
release_url() {
	if [ "$2" = latest ] && [ "$1" = "$DEFAULT_RELEASE_URL" ]; then
		printf '%s/latest/download/%s\n' "${1%/download}" "$3"
	else
		printf '%s/%s/%s\n' "$1" "$2" "$3"
	fi
}

# Install this platform's release archive into $install_dir and set $how. Leaves $how empty (having
# said why) when no archive fits, so the caller builds from source; exits non-zero when an archive is
# there but does not match its checksum (nothing is installed then). Not called as an `if` condition:
# that would switch `set -e` off inside it.
install_release() {
	platform=$(detect_platform)
	ref=${MUX_REF:-latest}
	base=${MUX_RELEASE_URL:-$DEFAULT_RELEASE_URL}
	base=${base%/}
	if ! have curl && ! have wget; then
		say "neither curl nor wget is installed: cannot download a release"
		return 0
	fi

	sums_url=$(release_url "$base" "$ref" SHA256SUMS)
	say "looking for the $platform archive of release $ref: $sums_url"
	if ! download "$sums_url" "$tmp/SHA256SUMS"; then
		say "no release $ref at $base (could not download SHA256SUMS)"
		return 0
	fi

	# "<64 hex>  rmcp-mux-<version>-<platform>.tar.gz" (or " *name", as sha256sum -b writes it).
	line=$(awk -v suffix="-$platform.tar.gz" '
		{
			h = $1; n = $2; sub(/^\*/, "", n)
			if (length(h) == 64 && h !~ /[^0-9A-Fa-f]/ && index(n, "rmcp-mux-") == 1 &&
				length(n) > length(suffix) && substr(n, length(n) - length(suffix) + 1) == suffix) {
				print tolower(h), n
				exit
			}
		}' "$tmp/SHA256SUMS")
	if [ -z "$line" ]; then
		say "release $ref has no archive for $platform"
		return 0
	fi
	expected=${line%% *}
	archive=${line#* }
	case $archive in
	*/* | *[!A-Za-z0-9._+-]*) die "unexpected archive name in $sums_url: $archive" ;;
	esac

	archive_url=$(release_url "$base" "$ref" "$archive")
	say "downloading $archive_url"
	if ! download "$archive_url" "$tmp/$archive"; then
		say "could not download $archive_url"
		return 0
	fi
	actual=$(sha256_of "$tmp/$archive") ||
		die "no sha256sum, shasum or openssl to verify $archive with; nothing was installed"
	if [ "$actual" != "$expected" ]; then
		die "checksum mismatch for $archive: SHA256SUMS says $expected, the download is ${actual:-unreadable}.
Refusing to install it; nothing was installed."
	fi
	say "sha256 verified: $actual  $archive"

	mkdir "$tmp/unpacked"
	tar -xzf "$tmp/$archive" -C "$tmp/unpacked" || die "could not unpack $archive; nothing was installed"
	unpacked=$tmp/unpacked/${archive%.tar.gz}
	for b in $BINARIES; do
		[ -f "$unpacked/$b" ] || die "$archive has no ${archive%.tar.gz}/$b; nothing was installed"
	done
	chmod 0755 "$unpacked/$EXECUTABLE"
	# The archive may not suit this machine after all (an old CPU, an unusual libc): try it first.
	if ! version=$("$unpacked/rmcp-mux" --version 2>&1); then
		say "the $platform binary does not run on this machine: $(printf '%s' "$version" | head -n 1)"
		return 0
	fi
	say "unpacked $version"
	install_binaries "$unpacked"
	how="from $archive_url"
}

# Build the checkout in $1 with Bun and install its dist/ binaries.
build_and_install() {
	src=$1
	say "building from $src"

	ensure_bun
	say "bun $(bun --version)"

	(
		cd "$src"
		if [ -f bun.lock ] || [ -f bun.lockb ]; then
			bun install --frozen-lockfile
		else
			bun install
		fi
		bun run build
	)
	for b in $BINARIES; do
		[ -f "$src/dist/$b" ] || die "build did not produce dist/$b"
	done
	install_binaries "$src/dist"
	how="built from $src"
}

# Copy the executable in folder $1 into $install_dir: it is written next to its target and renamed
# over it (atomic, and works while the old binary runs); an identical file is left as it is. Then
# each other name is made a symbolic link to it, the same way (an older install had copies there),
# unless $1 has a file of its own under that name (a build from before the link).
install_binaries() {
	mkdir -p "$install_dir"
	install_dir=$(cd "$install_dir" && pwd -P)
	b=$EXECUTABLE
	cp "$1/$b" "$install_dir/.$b.tmp.$$"
	chmod 0755 "$install_dir/.$b.tmp.$$"
	if [ -f "$install_dir/$b" ] && [ ! -L "$install_dir/$b" ] && [ -x "$install_dir/$b" ] && have cmp &&
		cmp -s "$install_dir/.$b.tmp.$$" "$install_dir/$b"; then
		rm -f "$install_dir/.$b.tmp.$$"
		say "unchanged $install_dir/$b (already this build)"
	else
		mv -f "$install_dir/.$b.tmp.$$" "$install_dir/$b"
		say "installed $install_dir/$b"
	fi
	for l in $LINKS; do
		if [ -d "$install_dir/$l" ]; then
			die "$install_dir/$l is a folder: move it away and run the installer again (rmcp-mux is installed)"
		fi
		if [ ! -L "$1/$l" ]; then
			# A build from before the proxy became a link (an older MUX_REF or release): its own file.
			cp "$1/$l" "$install_dir/.$l.tmp.$$"
			chmod 0755 "$install_dir/.$l.tmp.$$"
			mv -f "$install_dir/.$l.tmp.$$" "$install_dir/$l"
			say "installed $install_dir/$l"
			continue
		fi
		if [ -L "$install_dir/$l" ] && [ "$(readlink "$install_dir/$l")" = "$EXECUTABLE" ]; then
			say "unchanged $install_dir/$l -> $EXECUTABLE"
			continue
		fi
		ln -s "$EXECUTABLE" "$install_dir/.$l.tmp.$$"
		mv -f "$install_dir/.$l.tmp.$$" "$install_dir/$l"
		say "installed $install_dir/$l -> $EXECUTABLE"
	done
}

cleanup() {
	if [ -n "${install_dir:-}" ]; then
		for b in $BINARIES; do rm -f "$install_dir/.$b.tmp.$$"; done
	fi
	if [ -n "${tmp:-}" ]; then rm -rf "$tmp"; fi
}

main() {
	case "${1:-}" in
	-h | --help)
		usage
		return 0
		;;
	"") ;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac

	install_dir=${INSTALL_DIR:-$HOME/.local/bin}
	tmp=""
	how=""
	trap cleanup EXIT
	# Signals end the script through exit, so the EXIT trap still removes the temp files
	# (PIPE: e.g. its output piped into a `head` that has quit).
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM

	# Run as a file (sh install.sh, ./install.sh)? Then its folder may be a checkout.
	# Piped into sh, $0 is the shell's name and there is no such file.
	checkout=""
	case "$0" in
	*install.sh)
		if [ -f "$0" ]; then
			script_dir=$(cd "$(dirname "$0")" && pwd -P)
			if is_checkout "$script_dir"; then
				checkout=$script_dir
			fi
		fi
		;;
	esac

	if [ -n "$checkout" ]; then
		build_and_install "$checkout"
	else
		tmp=$(mktemp -d 2>/dev/null || mktemp -d -t rmcp-mux)
		install_release
		if [ -z "$how" ]; then
			source_ref=${MUX_REF:-main}
			say "no release archive fits; building $source_ref of $MUX_REPO from source instead"
			mkdir -p "$tmp/src"
			fetch_source "$tmp/src" "$source_ref"
			is_checkout "$tmp/src" || die "$MUX_REPO ($source_ref) does not look like a rmcp-mux checkout"
			build_and_install "$tmp/src"
		fi
	fi

	if ! "$install_dir/rmcp-mux" --help >/dev/null 2>&1; then
		say "warning: '$install_dir/rmcp-mux --help' did not exit cleanly"
	fi
	say "$("$install_dir/rmcp-mux" --version 2>/dev/null | head -n 1) is in $install_dir ($how)"

	case ":$PATH:" in
	*":$install_dir:"*) say "done: run 'rmcp-mux --help' to get started" ;;
	*)
		say "done, but $install_dir is not on your PATH. Add it with:"
		# shellcheck disable=SC2016 # a literal $PATH, for the user to paste
		printf '\n    export PATH="%s:$PATH"\n\n' "$install_dir"
		say "(put that line in ~/.profile, ~/.bashrc or ~/.zshrc to keep it)"
		;;
	esac
}

# Everything above is only definitions, so a truncated download runs nothing; stdin is closed
# so that nothing we start can eat the rest of a script piped into sh.
main "$@" </dev/null
