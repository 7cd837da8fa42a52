#!/bin/sh
# Add Dukahub Model Trainer to this user's application menu (no root needed).
# Run it from the unpacked folder:  ./install-desktop-entry.sh     (--remove undoes it)
# It writes only under ~/.local/share (or $XDG_DATA_HOME): a menu entry pointing at
# this folder's dukahub-trainer, and the icon. Move the folder? Run it again.
set -eu
# CDPATH unset: with it, cd prints the folder and $here held its path twice
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
app_id=com.dukahub.Trainer
res="$here/_internal/resources"
entry="$data/applications/$app_id.desktop"
icons="$data/icons/hicolor"

refresh() {
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
    # a cache that no longer lists what is there hides icons other apps add later
    if [ -f "$icons/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$icons" || true
    fi
}

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$data/metainfo/$app_id.metainfo.xml"
    for size in 16 24 32 48 64 128 256 512; do
        rm -f "$icons/${size}x${size}/apps/dukahub-trainer.png"
    done
    refresh
    echo "Removed the Dukahub Model Trainer menu entry."
    exit 0
fi

[ -x "$here/dukahub-trainer" ] || { echo "dukahub-trainer not found beside this script" >&2; exit 1; }
mkdir -p "$data/applications" "$data/metainfo"
# Each file goes in by a temp name of its own, then a rename: two runs at once (or a full
# disk) never leave a half-written entry or icon under the real name.
put() {  # put SOURCE DEST
    tmp=$(mktemp "$(dirname -- "$2")/.dukahub-trainer.XXXXXX")
    if cat -- "$1" > "$tmp" && chmod 644 "$tmp" && mv -f -- "$tmp" "$2"; then
        return 0
    fi
    rm -f -- "$tmp"
    echo "Could not write $2 (is the disk full?); nothing else was changed." >&2
    exit 1
}
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$icons/${size}x${size}/apps"
    put "$res/icons/dukahub-trainer-$size.png" "$icons/${size}x${size}/apps/dukahub-trainer.png"
done
# Exec must be quoted: the folder's path may hold spaces.
# Desktop-entry quoting: \ " ` $ get a backslash, then every backslash is doubled; % → %%.
escaped=$(printf '%s' "$here/dukahub-trainer" | sed 's/\\/\\\\\\\\/g; s/["`$]/\\\\&/g; s/%/%%/g')
# TryExec (a plain string: only \ is escaped): menus hide the entry once the folder is gone
plain=$(printf '%s' "$here/dukahub-trainer" | sed 's/\\/\\\\/g')
draft=$(mktemp "$data/applications/.dukahub-trainer.XXXXXX")
{
    echo "[Desktop Entry]"
    printf 'Exec="%s"\n' "$escaped"
    printf 'TryExec=%s\n' "$plain"
    grep -v -e '^Exec=' -e '^TryExec=' -e '^\[Desktop Entry\]' "$res/linux/$app_id.desktop"
} > "$draft" && chmod 644 "$draft" && mv -f -- "$draft" "$entry" || {
    rm -f -- "$draft"
    echo "Could not write $entry (is the disk full?)" >&2
    exit 1
}
put "$res/linux/$app_id.metainfo.xml" "$data/metainfo/$app_id.metainfo.xml"
refresh
echo "Added Dukahub Model Trainer to your applications menu ($entry)."
