#!/bin/sh
# Add Dukahub Model Trainer to this user's application menu (no root needed).
# Run it from the unpacked folder:  ./install-desktop-entry.sh     (--remove undoes it)
# It writes only under ~/.local/share (or $XDG_DATA_HOME): a menu entry pointing at
# this folder's dukahub-trainer, and the icon. Move the folder? Run it again.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
app_id=com.dukahub.Trainer
res="$here/_internal/resources"
entry="$data/applications/$app_id.desktop"

if [ "${1:-}" = "--remove" ]; then
    rm -f "$entry" "$data/metainfo/$app_id.metainfo.xml"
    for size in 16 24 32 48 64 128 256 512; do
        rm -f "$data/icons/hicolor/${size}x${size}/apps/dukahub-trainer.png"
    done
    echo "Removed the Dukahub Model Trainer menu entry."
    exit 0
fi

[ -x "$here/dukahub-trainer" ] || { echo "dukahub-trainer not found beside this script" >&2; exit 1; }
mkdir -p "$data/applications" "$data/metainfo"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$res/icons/dukahub-trainer-$size.png" "$data/icons/hicolor/${size}x${size}/apps/dukahub-trainer.png"
done
# Exec must be quoted: the folder's path may hold spaces.
# Desktop-entry quoting: \ " ` $ get a backslash, then every backslash is doubled; % → %%.
escaped=$(printf '%s' "$here/dukahub-trainer" | sed 's/\\/\\\\\\\\/g; s/["`$]/\\\\&/g; s/%/%%/g')
{
    echo "[Desktop Entry]"
    printf 'Exec="%s"\n' "$escaped"
    grep -v -e '^Exec=' -e '^\[Desktop Entry\]' "$res/linux/$app_id.desktop"
} > "$entry.tmp"
mv "$entry.tmp" "$entry"
cp "$res/linux/$app_id.metainfo.xml" "$data/metainfo/"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "Added Dukahub Model Trainer to your applications menu ($entry)."
