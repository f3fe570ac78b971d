#!/bin/sh
# Install rmcp-mux and rmcp-mux-proxy (standalone Bun executables) into ~/.local/bin.
#
#   From a checkout:   sh install.sh
#   Without one:       curl -fsSL https://raw.githubusercontent.com/rmcp-mux/rmcp-mux/main/install.sh | sh
#
# Environment:
#   INSTALL_DIR  where the binaries go            (default: $HOME/.local/bin)
#   MUX_REPO     repository to fetch when not run from a checkout
#                                                 (default: https://github.com/rmcp-mux/rmcp-mux)
#   MUX_REF      branch, tag or commit to fetch   (default: main)
#
# Steps: make sure Bun works (installing it with `npm install -g bun` if missing), then in the
# checkout `bun install --frozen-lockfile`, `bun run build`, and copy dist/rmcp-mux and
# dist/rmcp-mux-proxy into INSTALL_DIR. Safe to run again: it rebuilds and replaces the binaries
# (atomically, so a running daemon keeps its old file).
set -eu

MUX_REPO=${MUX_REPO:-https://github.com/rmcp-mux/rmcp-mux}
MUX_REF=${MUX_REF:-main}
BINARIES="rmcp-mux rmcp-mux-proxy"

say() { printf 'rmcp-mux install: %s\n' "$*"; }
die() {
	printf 'rmcp-mux install: error: %s\n' "$*" >&2
	exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
	cat <<EOF
usage: sh install.sh            (from a checkout)
       curl -fsSL .../install.sh | sh

Builds rmcp-mux and rmcp-mux-proxy with Bun and installs them into
\${INSTALL_DIR:-\$HOME/.local/bin}. Without a checkout it fetches \$MUX_REF (default main)
of \$MUX_REPO (default https://github.com/rmcp-mux/rmcp-mux) first.
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

# Fetch MUX_REF of MUX_REPO into $1 (an empty folder).
fetch_source() {
	dest=$1
	if have git; then
		say "cloning $MUX_REPO ($MUX_REF)"
		if git clone --quiet --depth 1 --branch "$MUX_REF" "$MUX_REPO" "$dest" 2>/dev/null; then
			return 0
		fi
		rm -rf "$dest"
		mkdir -p "$dest"
		say "git clone --branch $MUX_REF failed; trying a tarball"
	fi
	url="${MUX_REPO%.git}/archive/$MUX_REF.tar.gz"
	say "downloading $url"
	if have curl; then
		curl -fsSL "$url" | tar -xzf - -C "$dest" --strip-components=1
	elif have wget; then
		wget -qO- "$url" | tar -xzf - -C "$dest" --strip-components=1
	else
		die "need git, curl or wget to fetch $MUX_REPO"
	fi
	[ -f "$dest/package.json" ] || die "could not fetch $MUX_REF of $MUX_REPO"
}

# Is $1 a rmcp-mux checkout?
is_checkout() { [ -f "$1/package.json" ] && [ -d "$1/src" ] && [ -f "$1/build.ts" ]; }

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

	# Run as a file (sh install.sh, ./install.sh)? Then its folder may be a checkout.
	# Piped into sh, $0 is the shell's name and there is no such file.
	src=""
	case "$0" in
	*install.sh)
		if [ -f "$0" ]; then
			script_dir=$(cd "$(dirname "$0")" && pwd -P)
			if is_checkout "$script_dir"; then
				src=$script_dir
			fi
		fi
		;;
	esac

	if [ -z "$src" ]; then
		tmp=$(mktemp -d 2>/dev/null || mktemp -d -t rmcp-mux)
		trap 'rm -rf "$tmp"' EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		mkdir -p "$tmp/src"
		fetch_source "$tmp/src"
		src=$tmp/src
		is_checkout "$src" || die "$MUX_REPO ($MUX_REF) does not look like a rmcp-mux checkout"
	fi
	say "building from $src"

	ensure_bun
	say "bun $(bun --version)"

	cd "$src"
	if [ -f bun.lock ] || [ -f bun.lockb ]; then
		bun install --frozen-lockfile
	else
		bun install
	fi
	bun run build
	for b in $BINARIES; do
		[ -f "dist/$b" ] || die "build did not produce dist/$b"
	done

	install_dir=${INSTALL_DIR:-$HOME/.local/bin}
	mkdir -p "$install_dir"
	install_dir=$(cd "$install_dir" && pwd -P)
	for b in $BINARIES; do
		# Copy next to the target, then rename over it: atomic, and works while the old binary runs.
		cp "dist/$b" "$install_dir/.$b.tmp.$$"
		chmod 0755 "$install_dir/.$b.tmp.$$"
		mv -f "$install_dir/.$b.tmp.$$" "$install_dir/$b"
		say "installed $install_dir/$b"
	done

	if ! "$install_dir/rmcp-mux" --help >/dev/null 2>&1; then
		say "warning: '$install_dir/rmcp-mux --help' did not exit cleanly"
	fi

	case ":$PATH:" in
	*":$install_dir:"*) say "done: run 'rmcp-mux --help' to get started" ;;
	*)
		say "done, but $install_dir is not on your PATH. Add it with:"
		printf '\n    export PATH="%s:$PATH"\n\n' "$install_dir"
		say "(put that line in ~/.profile, ~/.bashrc or ~/.zshrc to keep it)"
		;;
	esac
}

# Everything above is only definitions, so a truncated download runs nothing; stdin is closed
# so that nothing we start can eat the rest of a script piped into sh.
main "$@" </dev/null
